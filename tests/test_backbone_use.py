"""How agents use their backbone: augmentation of training batches, transfer from another run,
freezing, bfloat16 autocast, sequence windows from the env, and rlbox backbones inside SB3."""

import gymnasium as gym
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from gymnasium import spaces

import rlbox
from rlbox import envs
from rlbox.agents.dqn import DQN, DQNConfig
from rlbox.agents.ppo import PPO, PPOConfig
from rlbox.errors import ConfigError, RlboxError
from rlbox.nn.augment import make_augmentation, random_shift
from rlbox.nn.backbone import BackboneSpec, BackboneUse
from rlbox.run.build import prepare

CPU = torch.device("cpu")
PIXELS = "test/Pixels-v0"


class Pixels(gym.Env):
    """Random 1x36x36 byte images; reward 1 for action 0; episodes of 5 steps."""

    observation_space = spaces.Box(0, 255, (1, 36, 36), np.uint8)
    action_space = spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t = 0
        return self.np_random.integers(0, 256, (1, 36, 36), dtype=np.uint8), {}

    def step(self, action):
        self.t += 1
        obs = self.np_random.integers(0, 256, (1, 36, 36), dtype=np.uint8)
        return obs, float(action == 0), self.t >= 5, False, {}


if PIXELS not in gym.registry:
    gym.register(PIXELS, entry_point=Pixels)


def padded_crop(obs, dy, dx, pad):
    """The shift as DrQ writes it: replicate-pad, then crop at (dy, dx)."""
    padded = F.pad(obs.float(), (pad, pad, pad, pad), mode="replicate")
    height, width = obs.shape[-2:]
    return padded[..., dy : dy + height, dx : dx + width].to(obs.dtype)


def test_random_shift_is_a_replicate_padded_crop_per_image_in_its_dtype():
    obs = torch.randint(0, 256, (6, 3, 10, 9), dtype=torch.uint8)
    generator = torch.Generator().manual_seed(3)
    shifted = random_shift(obs, generator, pad=2)
    assert shifted.dtype == torch.uint8 and shifted.shape == obs.shape
    offsets = torch.randint(0, 5, (2, 6), generator=torch.Generator().manual_seed(3))
    for b in range(6):
        dy, dx = offsets[:, b].tolist()
        assert torch.equal(shifted[b], padded_crop(obs[b : b + 1], dy, dx, 2)[0])
    assert offsets.unique(dim=1).shape[1] > 1  # the images got different shifts
    assert torch.equal(random_shift(obs, generator, pad=0), obs)


def test_shift_refuses_observations_that_are_not_images():
    with pytest.raises(ConfigError, match=r"augment=shift shifts images.*shape \(4,\)"):
        make_augmentation("shift", spaces.Box(-1, 1, (4,)), torch.Generator())


def spy_on_augment(agent):
    shapes = []
    augment = agent.augment

    def spy(obs):
        shapes.append(tuple(obs.shape))
        return augment(obs)

    agent.augment = spy
    return shapes


@pytest.mark.parametrize("agent_name", ["dqn", "ppo"])
def test_shift_augments_training_batches_only(agent_name):
    env = envs.make(PIXELS, num_envs=2, seed=0)
    spec = BackboneSpec("nature_cnn", {"channels": (4, 4, 4), "features": 8},
                        BackboneUse(augment="shift"))  # fmt: skip
    if agent_name == "dqn":
        config = DQNConfig(learning_starts=8, batch_size=16, buffer_size=100, train_freq=2)
        agent = DQN(env, config, device=CPU, seed=0, horizon=100, backbone=spec)
    else:
        config = PPOConfig(n_steps=8, batch_size=4, n_epochs=1)
        agent = PPO(env, config, device=CPU, seed=0, horizon=100, backbone=spec)
    shapes = spy_on_augment(agent)
    agent.learn(40)
    agent.act(torch.zeros(3, 1, 36, 36, dtype=torch.uint8))
    batch = 16 if agent_name == "dqn" else 4
    assert shapes and all(shape == (batch, 1, 36, 36) for shape in shapes)


def small_dqn(tmp_path, name, **overrides):
    values = {"hidden_sizes": [16], "learning_starts": 50, "eval_every": 300, "eval_episodes": 2,
              "final_eval_episodes": 2, **overrides}  # fmt: skip
    return rlbox.train("dqn", "CartPole-v1", steps=300, out=tmp_path, run_name=name,
                       overrides=values)  # fmt: skip


def test_init_from_loads_the_encoder_and_freeze_keeps_it(tmp_path):
    source = small_dqn(tmp_path, "source")
    donor = rlbox.load(source.run_dir).agent.backbones()[0].state_dict()
    frozen = small_dqn(tmp_path, "frozen", **{"backbone.init_from": str(source.run_dir),
                                               "backbone.freeze": True})  # fmt: skip
    agent = rlbox.load(frozen.run_dir).agent
    for backbone in agent.backbones():  # online and target networks
        for key, value in backbone.state_dict().items():
            assert torch.equal(value, donor[key]), key
    head = agent.q.head.advantage.weight
    fresh = rlbox.load(small_dqn(tmp_path, "fresh").run_dir).agent
    assert not torch.equal(head, fresh.q.head.advantage.weight)
    tuned = small_dqn(tmp_path, "tuned", **{"backbone.init_from": str(source.run_dir)})
    moved = rlbox.load(tuned.run_dir).agent.backbones()[0].state_dict()
    assert any(not torch.equal(moved[k], donor[k]) for k in donor)  # unfrozen: it trained on


def test_init_from_needs_a_run_with_the_same_backbone(tmp_path):
    source = small_dqn(tmp_path, "source")
    with pytest.raises(RlboxError, match=r"not a run directory"):
        prepare("dqn", "CartPole-v1", {"backbone.init_from": str(tmp_path / "nowhere")})
    with pytest.raises(ConfigError, match=r"that run's backbone \(mlp.*is not this one's") as error:
        prepare("dqn", "CartPole-v1", {"backbone.init_from": str(source.run_dir),
                                       "hidden_sizes": [32]})  # fmt: skip
    assert "\n" not in str(error.value)


def test_bf16_autocast_runs_the_backbone_only():
    env = envs.make("CartPole-v1", num_envs=2, seed=0)
    spec = BackboneSpec("mlp", {"hidden_sizes": (16,)}, BackboneUse(amp="bf16"))
    agent = PPO(env, PPOConfig(n_steps=16, batch_size=16, n_epochs=2), device=CPU, seed=0,
                horizon=64, backbone=spec)  # fmt: skip
    seen = []
    agent.net.actor_body.register_forward_hook(lambda m, i, out: seen.append(out.dtype))
    dist, value = agent.net(torch.zeros(3, 4))
    assert seen == [torch.bfloat16] and value.dtype == torch.float32
    assert dist.log_prob(dist.mode).dtype == torch.float32
    metrics = agent.learn(64)
    assert metrics["approx_kl"] != 0.0  # log-ratios in float32 do not round to zero


def test_a_sequence_backbone_asks_the_env_for_its_window():
    experiment, _ = prepare("ppo", "CartPole-v1", {"backbone": "gru", "backbone.window": 4})
    assert experiment.env_options["history"] == 4
    with pytest.raises(ConfigError, match=r"env.history=3 differs from backbone.window=4"):
        prepare("ppo", "CartPole-v1", {"backbone": "gru", "window": 4, "env.history": 3})
    with pytest.raises(ConfigError, match=r"only the gymnasium backend"):
        prepare("ppo", "CartPole-v1", {"backbone": "transformer", "backend": "torch"})


def test_sb3_agents_build_an_rlbox_backbone_as_their_features_extractor():
    pytest.importorskip("stable_baselines3")
    from rlbox.catalog import AGENTS
    from rlbox.nn.seq.recurrent import GRU
    from rlbox.run.build import build_agent

    experiment, cls = prepare("sb3-ppo", "CartPole-v1", {"backbone": "gru", "window": 4})
    assert experiment.env_options["history"] == 4
    agent = build_agent(experiment, cls)
    extractor = agent.model.policy.features_extractor
    assert isinstance(extractor.backbone, GRU) and not agent.model.policy.normalize_images
    agent.learn(256)
    assert agent.act(torch.zeros(2, 4, 4)).shape == (2,)
    with pytest.raises(ConfigError, match=r"augment, init_from, freeze, amp and compile"):
        build_agent(prepare("sb3-ppo", "CartPole-v1", {"backbone": "mlp", "freeze": True})[0],
                    AGENTS.get("sb3-ppo"))  # fmt: skip
    with pytest.raises(ConfigError, match=r"need a backbone named \(--backbone NAME\)"):
        prepare("sb3-ppo", "CartPole-v1", {"backbone.hidden_sizes": [8]})


def test_predict_keeps_the_window_of_a_sequence_backbone_run(tmp_path):
    run = rlbox.train("ppo", "rlbox/CartPoleNoVel-v1", steps=512, out=tmp_path, overrides={
        "backbone": "gru", "window": 3, "n_steps": 32, "eval_every": 512, "eval_episodes": 1,
        "final_eval_episodes": 1})  # fmt: skip
    policy = rlbox.load(run.run_dir)
    windowed = envs.make_eval("rlbox/CartPoleNoVel-v1", history=3)
    raw = gym.make("rlbox/CartPoleNoVel-v1")
    for episode in range(2):
        policy.reset()
        window, _ = windowed.reset(seed=episode)
        obs, _ = raw.reset(seed=episode)
        for _ in range(30):
            expected = policy.agent.act(torch.as_tensor(window[None])).item()
            action = policy.predict(obs)
            assert action == expected
            window, *_ = windowed.step(action)
            obs, _, terminated, truncated, _ = raw.step(action)
            if terminated or truncated:
                break
    with pytest.raises(RlboxError, match="one observation at a time"):
        policy.predict(np.zeros((2, 2), np.float32))
