"""The backbone contract (rlbox.nn.make_backbone) and the config's backbone section."""

import dataclasses

import numpy as np
import pytest
import torch
import yaml
from gymnasium import spaces
from torch import nn

from rlbox.agents.dqn import DQN, DQNConfig
from rlbox.agents.ppo import PPO, PPOConfig
from rlbox.config.experiment import fingerprint, flat_values, resolve
from rlbox.errors import ConfigError, RlboxError
from rlbox.nn import BACKBONES, BackboneSpec, make_backbone
from rlbox.nn.init import orthogonal_

VECTOR = spaces.Box(-1.0, 1.0, (4,), np.float32)


def dqn(overrides, env_id="MountainCar-v0"):  # no tuned section: the agent's defaults
    return resolve("dqn", env_id, DQNConfig, overrides, DQN.default_backbone)


def test_mlp_is_sized_by_a_forward_pass_and_reads_any_box():
    net = make_backbone("mlp", VECTOR, hidden_sizes=(8, 5), activation="relu")
    assert net.features_dim == 5
    assert net(torch.zeros(3, 4)).shape == (3, 5)
    frames = spaces.Box(0, 255, (2, 3, 3), np.uint8)  # uint8 is converted inside the network
    assert make_backbone("mlp", frames, hidden_sizes=(7,))(
        torch.zeros(1, 2, 3, 3, dtype=torch.uint8)
    ).shape == (1, 7)


def test_a_space_the_backbone_cannot_read_is_one_line_naming_those_that_can():
    with pytest.raises(
        RlboxError, match=r"backbone 'mlp' cannot read observations Discrete\(3\)"
    ) as error:
        make_backbone("mlp", spaces.Discrete(3))
    assert "backbones that can: none" in str(error.value) and "\n" not in str(error.value)


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        (
            "mlpp",
            {},
            r"unknown backbone 'mlpp' \(did you mean 'mlp'\?\); known: alexnet, .*mlp, nature_cnn",
        ),
        (
            "mlp",
            {"depth": 3},
            r"backbone 'mlp' has no option 'depth'; its options: hidden_sizes, activation",
        ),
        ("mlp", {"hidden_sizes": ()}, r"invalid value for 'hidden_sizes'"),
        ("mlp", {"hidden_sizes": (8, 0)}, r"invalid value for 'hidden_sizes'"),
    ],
)
def test_bad_backbones_and_options_are_named(name, options, message):
    with pytest.raises(RlboxError, match=message):
        make_backbone(name, VECTOR, **options)


def test_every_registered_backbone_documents_its_options_and_what_it_reads():
    for name in BACKBONES:
        cls = BACKBONES.get(name)
        assert cls.reads and (cls.__doc__ or "").strip()
        for field in dataclasses.fields(cls.Options):
            assert field.metadata.get("help"), f"{name}.{field.name} has no help text"


def test_orthogonal_init_covers_convolutions_too():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(2, 4, 3), nn.Flatten(), nn.Linear(4, 3))
    orthogonal_(net, gain=2.0)
    conv = net[0].weight.flatten(1)  # 4 rows of 18: orthogonal rows scaled by the gain
    torch.testing.assert_close(conv @ conv.T, 4.0 * torch.eye(4), atol=1e-5, rtol=0)
    assert not net[0].bias.any() and not net[2].bias.any()


def test_the_backbone_section_takes_dotted_and_bare_keys_over_the_agents_defaults():
    assert dqn({}).backbone == BackboneSpec(
        "mlp", {"hidden_sizes": (256, 256), "activation": "relu"}
    )
    assert dqn({"backbone.hidden_sizes": "32,16"}).backbone.options["hidden_sizes"] == (32, 16)
    assert dqn({"hidden_sizes": [8]}).backbone.options == {
        "hidden_sizes": (8,),
        "activation": "relu",
    }
    on_policy = resolve("ppo", "Pendulum-v1", PPOConfig, {}, PPO.default_backbone)
    assert on_policy.backbone.options == {"hidden_sizes": (64, 64), "activation": "tanh"}


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"backbone": "resnett"}, r"unknown backbone 'resnett' \(did you mean 'resnet'\?\)"),
        (
            {"backbone.depth": 3},
            r"unknown config key 'backbone.depth' for dqn; known: activation, amp, augment, "
            r"compile, freeze, hidden_sizes, init_from",
        ),
        (
            {"backbone.activation": "gelu"},
            r"invalid value for 'activation': expected one of \['tanh', 'relu'\]",
        ),
        ({"hidden_sizes": [0]}, r"invalid value for 'hidden_sizes'"),
    ],
)
def test_bad_backbone_keys_are_config_errors(overrides, message):
    with pytest.raises(RlboxError, match=message):
        dqn(overrides)


def test_agents_that_build_no_rlbox_backbone_refuse_backbone_keys():
    from rlbox.agents.sb3.config import SB3PPOConfig

    with pytest.raises(ConfigError, match=r"sb3-ppo builds no rlbox backbone"):
        resolve("sb3-ppo", "CartPole-v1", SB3PPOConfig, {"backbone.hidden_sizes": [8]})
    assert "backbone" not in resolve("sb3-ppo", "CartPole-v1", SB3PPOConfig, {}).to_dict()
    # sb3-* agents take one where it is named (tests/test_backbone_use.py)
    named = resolve("sb3-ppo", "CartPole-v1", SB3PPOConfig, {"backbone": "mlp"}, None, True)
    assert named.backbone == BackboneSpec("mlp", {"hidden_sizes": (64, 64), "activation": "tanh"})


def test_the_backbone_round_trips_through_config_yaml_and_old_configs_still_resolve():
    exp = dqn({"hidden_sizes": [32]})
    stored = yaml.safe_load(yaml.safe_dump(exp.to_dict()))
    assert stored["backbone"] == {"name": "mlp", "hidden_sizes": [32], "activation": "relu"}
    assert dqn(flat_values(stored)) == exp
    # A config.yaml written before the backbone section had the sizes among the agent's keys.
    old = {**stored, "hyperparams": {**stored["hyperparams"], "hidden_sizes": [32]}}
    del old["backbone"]
    assert dqn(flat_values(old)) == exp


@pytest.mark.parametrize(
    ("agent", "overrides", "before"),
    [
        ("dqn", {"steps": 5000}, "25983da5"),
        ("dqn", {"steps": 5000, "hidden_sizes": [32]}, "f65d56d7"),
        ("a2c", {"steps": 5000, "activation": "relu"}, "5509ad3e"),
    ],
)
def test_fingerprints_of_mlp_runs_are_those_from_before_the_backbone_section(
    agent, overrides, before, monkeypatch
):
    """Grid runs are found by name: the names given when the MLP's sizes were agent keys (the
    hashes printed by that code) must still name the same runs. MountainCar-v0 had no tuned
    section then: only the `default` one applies here."""
    from rlbox.catalog import AGENTS
    from rlbox.config import tuned

    def untuned(agent: str, env_id: str, backend: str) -> dict:
        return tuned.load_hyperparams(agent, "no-such-env")  # the `default` section alone

    monkeypatch.setattr("rlbox.config.experiment.load_hyperparams", untuned)
    cls = AGENTS.get(agent)
    exp = resolve(agent, "MountainCar-v0", cls.config_class, overrides, cls.default_backbone)
    assert fingerprint(exp) == before


def test_an_agent_built_with_a_backbone_spec_uses_it(tiny_cartpole):
    spec = BackboneSpec("mlp", {"hidden_sizes": (12,), "activation": "tanh"})
    agent = DQN(
        tiny_cartpole, DQNConfig(), device=torch.device("cpu"), seed=0, horizon=100, backbone=spec
    )
    assert agent.q.backbone.features_dim == 12
    default = DQN(tiny_cartpole, DQNConfig(), device=torch.device("cpu"), seed=0, horizon=100)
    assert default.q.backbone.features_dim == 256


@pytest.fixture
def tiny_cartpole():
    from rlbox import envs

    env = envs.make("CartPole-v1", num_envs=2, seed=0)
    yield env
    env.close()
