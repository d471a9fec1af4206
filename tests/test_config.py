import pytest

from rlbox.agents.dqn import DQNConfig
from rlbox.config.experiment import RunConfig, parse_overrides, resolve
from rlbox.config.fields import coerce
from rlbox.errors import ConfigError


def resolved(agent, env_id, overrides):
    """`resolve` as `rlbox train` calls it: with the agent's config class and default backbone."""
    from rlbox.catalog import AGENTS

    cls = AGENTS.get(agent)
    return resolve(agent, env_id, cls.config_class, overrides, cls.default_backbone)


def test_tuned_values_then_overrides_win():
    exp = resolved("dqn", "CartPole-v1", {"lr": "5e-4", "batch_size": 32})
    assert exp.agent_config.lr == 5e-4
    assert exp.agent_config.batch_size == 32
    # from experiments/hyperparams/dqn.yaml, CartPole-v1 section
    assert exp.run.steps == 50_000
    assert exp.agent_config.double is True


def test_env_without_section_gets_default_section_and_dataclass_defaults():
    exp = resolved("dqn", "FrozenLake-v1", {})
    assert exp.run.steps == 100_000
    assert exp.agent_config == DQNConfig()


def test_unknown_key_is_named_with_a_suggestion():
    with pytest.raises(
        ConfigError, match=r"unknown config key 'bach_size'.*did you mean 'batch_size'"
    ):
        resolved("dqn", "CartPole-v1", {"bach_size": 3})


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("batch_size", "abc", "expected int"),
        ("batch_size", 2.5, "expected int"),
        ("double", "maybe", "expected bool"),
        ("lr_schedule", "cosine", "expected one of"),
        ("lr", -1.0, "must be positive"),
        ("gamma", 1.5, r"must be in \[0, 1\]"),
        ("steps", 0, "must be positive"),
        ("num_envs", -2, "must be positive"),
    ],
)
def test_bad_values_are_named(key, value, message):
    with pytest.raises(ConfigError, match=rf"'{key}'.*{message}"):
        resolved("dqn", "CartPole-v1", {key: value})


def test_coercion_of_cli_strings():
    assert coerce("x", "1e5", int) == 100_000
    assert coerce("x", "true", bool) is True
    assert coerce("x", "256,128", tuple[int, ...]) == (256, 128)
    assert coerce("x", [64], tuple[int, ...]) == (64,)


def test_parse_overrides_reads_yaml_values():
    assert parse_overrides(["lr=5e-4", "hidden_sizes=[64, 64]", "double=true"]) == {
        "lr": "5e-4",  # YAML 1.1 reads 5e-4 as a string; coerce() makes it a float
        "hidden_sizes": [64, 64],
        "double": True,
    }
    with pytest.raises(ConfigError, match="expected key=value"):
        parse_overrides(["lr"])


def test_run_config_rejects_bad_device():
    with pytest.raises(ConfigError, match="device"):
        RunConfig(device="tpu")


def test_backend_section_applies_only_to_runs_on_that_backend(tmp_path, monkeypatch):

    table = tmp_path / "hyperparams"
    table.mkdir()
    (table / "ppo.yaml").write_text(
        "default: {steps: 1000}\n"
        "CartPole-v1: {num_envs: 8, lr: 0.001}\n"
        "CartPole-v1@torch: {num_envs: 64}\n"
        "Cart*-v1: {num_envs: 2, n_steps: 7, n_epochs: 3}\n"
    )
    monkeypatch.setattr("rlbox.config.tuned.resources.files", lambda package: tmp_path)
    on_gymnasium = resolved("ppo", "CartPole-v1", {})
    on_torch = resolved("ppo", "CartPole-v1", {"backend": "torch"})
    assert on_gymnasium.run.num_envs == 8
    assert (on_torch.run.num_envs, on_torch.run.backend) == (64, "torch")
    assert on_torch.agent_config.lr == on_gymnasium.agent_config.lr == 0.001  # inherited
    assert on_torch.run.steps == 1000
    overridden = resolved("ppo", "CartPole-v1", {"backend": "torch", "num_envs": 4})
    assert overridden.run.num_envs == 4  # overrides still win
    # a pattern section applies to every id it matches, under the id's own section
    assert (on_gymnasium.agent_config.n_steps, on_gymnasium.agent_config.n_epochs) == (7, 3)
    assert resolved("ppo", "Acrobot-v1", {}).agent_config.n_steps != 7

    from rlbox.config.tuned import tuned_env_ids

    assert tuned_env_ids("ppo") == [
        ("CartPole-v1", "gymnasium"),
        ("CartPole-v1", "torch"),
        ("Cart*-v1", "gymnasium"),
    ]

    from rlbox.config.tuned import untuned_notice

    assert untuned_notice("ppo", "CartPole-v1", "torch") is None
    assert untuned_notice("ppo", "CartCar-v1") is None  # tuned by the pattern alone
    notice = untuned_notice("ppo", "Acrobot-v1")
    assert "no tuned values for ppo on Acrobot-v1" in notice
    assert "ppo.yaml `default` (steps=1000)" in notice and "\n" not in notice
    assert "yaml `default`" not in untuned_notice("dqn", "Acrobot-v1")  # no table at all
