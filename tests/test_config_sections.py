"""Config sections: dotted keys (run., agent., env.), nested values, and their bad inputs."""

from dataclasses import dataclass

import pytest

from rlbox.config.experiment import Experiment, flat_values, identity, parse_overrides, resolve
from rlbox.config.fields import coerce, param
from rlbox.errors import ConfigError


def resolved(agent, env_id, overrides):
    """`resolve` as `rlbox train` calls it: with the agent's config class and default backbone."""
    from rlbox.catalog import AGENTS

    cls = AGENTS.get(agent)
    return resolve(agent, env_id, cls.config_class, overrides, cls.default_backbone)


def test_dotted_keys_name_their_section_and_bare_keys_still_work():
    overrides = parse_overrides(["run.steps=2000", "agent.lr=0.002", "gamma=0.9", "seed=3"])
    exp = resolved("dqn", "CartPole-v1", overrides)
    assert (exp.run.steps, exp.run.seed) == (2000, 3)
    assert (exp.agent_config.lr, exp.agent_config.gamma) == (0.002, 0.9)


def test_env_options_are_kept_apart_and_round_trip_through_the_stored_config():
    exp = resolved("dqn", "FrozenLake-v1", parse_overrides(["env.is_slippery=false"]))
    assert exp.env_options == {"is_slippery": False}
    stored = exp.to_dict()
    assert stored["env_options"] == {"is_slippery": False}
    again = resolved("dqn", "FrozenLake-v1", flat_values(stored))
    assert again == exp
    assert identity(stored)["env.is_slippery"] is False


def test_a_config_without_env_options_has_the_identity_it_had_before():
    stored = resolved("dqn", "CartPole-v1", {}).to_dict()
    del stored["env_options"]  # a config.yaml written before sections existed
    assert not any(key.startswith("env.") for key in identity(stored))
    assert resolved("dqn", "CartPole-v1", flat_values(stored)).env_options == {}


@pytest.mark.parametrize(
    ("key", "message"),
    [
        (
            "net.lr",
            r"unknown config section 'net' in 'net.lr'; sections: run, agent, backbone, env",
        ),
        ("agent.lrr", r"unknown config key 'agent.lrr' for dqn \(did you mean 'lr'\?\)"),
        ("run.lr", r"unknown config key 'run.lr'"),
        ("env.", r"names no option"),
    ],
)
def test_bad_dotted_keys_are_named(key, message):
    with pytest.raises(ConfigError, match=message):
        resolved("dqn", "CartPole-v1", {key: 1})


def test_a_wrong_type_under_a_dotted_key_is_named():
    with pytest.raises(ConfigError, match=r"invalid value for 'batch_size': expected int"):
        resolved("dqn", "CartPole-v1", {"agent.batch_size": "many"})


@dataclass(frozen=True)
class SharesARunKey:
    seed: int = param(0, "A key that the run section has too.")
    weights: dict[str, float] = param({}, "A mapping.")  # noqa: RUF009
    layers: tuple[tuple[int, ...], ...] = param((), "Nested lists.")


def test_a_bare_key_that_two_sections_have_is_ambiguous():
    with pytest.raises(ConfigError, match=r"'seed' is ambiguous: say run.seed or agent.seed"):
        resolve("custom", "CartPole-v1", SharesARunKey, {"seed": 1})
    exp = resolve("custom", "CartPole-v1", SharesARunKey, {"run.seed": 1, "agent.seed": 2})
    assert (exp.run.seed, exp.agent_config.seed) == (1, 2)


def test_nested_values_are_coerced_like_scalars():
    exp = resolve(
        "custom", "CartPole-v1", SharesARunKey,
        {"weights": "a:1,b:2.5", "layers": [[32, "64"], ["16"]]},
    )  # fmt: skip
    assert exp.agent_config.weights == {"a": 1.0, "b": 2.5}
    assert exp.agent_config.layers == ((32, 64), (16,))
    assert isinstance(Experiment, type)


@pytest.mark.parametrize(
    ("value", "message"),
    [("a=1", "expected a mapping"), ([1, 2], "expected a mapping"), ({"a": "x"}, "'weights.a'")],
)
def test_bad_nested_values_are_named(value, message):
    with pytest.raises(ConfigError, match=message):
        coerce("weights", value, dict[str, float])


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("net.lr=1", "unknown config section 'net'"),
        ("agent.nope=1", "unknown config key 'agent.nope'"),
        ("agent.lr=fast", "invalid value for 'lr'"),
        ("env.not_an_option=1", "CartPole-v1 refuses env.not_an_option=1"),
    ],
)
def test_bad_sections_at_the_cli_are_one_line_errors(tmp_path, capsys, setting, message):
    from rlbox.cli import main

    with pytest.raises(SystemExit) as exit:
        main(["train", "dqn", "CartPole-v1", "--set", setting, "--out", str(tmp_path / "runs")])
    err = capsys.readouterr().err
    assert exit.value.code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()
