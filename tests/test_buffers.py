import dataclasses

import numpy as np
import pytest
import torch
from gymnasium import spaces

from rlbox.agents.common.replay import (
    NStepFolder,
    PrioritizedReplayBuffer,
    ReplayBuffer,
    SumTree,
    Transitions,
)
from rlbox.envs.base import Step
from rlbox.envs.torch.base import TorchVectorEnv
from rlbox.nn.backbone import BackboneSpec


def make_step(reward, terminated, truncated, final_obs):
    reward = torch.tensor(reward, dtype=torch.float32)
    terminated, truncated = torch.tensor(terminated), torch.tensor(truncated)
    final_obs = torch.tensor(final_obs, dtype=torch.float32)[:, None]
    zeros = torch.zeros_like(reward)
    return Step(
        final_obs, reward, terminated, truncated, terminated | truncated, final_obs, zeros, zeros
    )


def test_n_step_returns_cut_at_episode_ends():
    gamma = 0.5
    folder = NStepFolder(3, gamma)
    # Two copies. Copy 0 terminates at step 1; copy 1 is truncated at step 1.
    steps = [
        make_step([1.0, 1.0], [False, False], [False, False], [10.0, 20.0]),
        make_step([2.0, 2.0], [True, False], [False, True], [11.0, 21.0]),
        make_step([4.0, 4.0], [False, False], [False, False], [12.0, 22.0]),
        make_step([8.0, 8.0], [False, False], [False, False], [13.0, 23.0]),
    ]
    obs = torch.tensor([[0.0], [0.0]])
    out = [folder.push(obs * i, torch.tensor([i, i]), s) for i, s in enumerate(steps)]
    assert out[0] is None and out[1] is None
    first, second = out[2], out[3]
    # Window starting at step 0: both episodes end at step 1 -> return 1 + 0.5 * 2 = 2.
    assert torch.allclose(first.reward, torch.tensor([2.0, 2.0]))
    # Copy 0 terminated: no bootstrap. Copy 1 truncated: bootstrap from its final obs, gamma^2.
    assert torch.allclose(first.discount, torch.tensor([0.0, 0.25]))
    assert first.next_obs[:, 0].tolist() == [11.0, 21.0]
    assert first.action.tolist() == [0, 0]
    # Window starting at step 1 ends immediately (the episode ends at its first step).
    assert torch.allclose(second.reward, torch.tensor([2.0, 2.0]))
    assert torch.allclose(second.discount, torch.tensor([0.0, 0.5]))
    assert second.action.tolist() == [1, 1]


def test_n_step_return_without_episode_end_bootstraps_after_n():
    folder = NStepFolder(3, 0.9)
    obs = torch.zeros(1, 1)
    out = None
    for i, r in enumerate([1.0, 2.0, 3.0]):
        out = folder.push(obs, torch.tensor([0]), make_step([r], [False], [False], [float(i)]))
    assert torch.allclose(out.reward, torch.tensor([1.0 + 0.9 * 2.0 + 0.81 * 3.0]))
    assert torch.allclose(out.discount, torch.tensor([0.9**3]))
    assert out.next_obs.item() == 2.0


def test_one_step_folder_is_the_plain_transition():
    folder = NStepFolder(1, 0.99)
    out = folder.push(
        torch.zeros(2, 1),
        torch.tensor([0, 1]),
        make_step([1.0, 2.0], [True, False], [False, True], [5.0, 6.0]),
    )
    assert torch.allclose(out.discount, torch.tensor([0.0, 0.99]))
    assert out.next_obs[:, 0].tolist() == [5.0, 6.0]


def transitions(values):
    v = torch.tensor(values, dtype=torch.float32)
    return Transitions(v[:, None], v.long(), v, v[:, None], torch.ones_like(v))


def test_replay_buffer_wraps_around():
    buf = ReplayBuffer(5, (1,), torch.float32, (), torch.long, torch.device("cpu"))
    buf.add(transitions([0, 1, 2]))
    buf.add(transitions([3, 4, 5]))
    assert len(buf) == 5
    assert sorted(buf.reward.tolist()) == [1, 2, 3, 4, 5]
    batch = buf.sample(64, torch.Generator().manual_seed(0))
    assert set(batch.reward.tolist()) <= {1.0, 2.0, 3.0, 4.0, 5.0}
    assert torch.equal(batch.obs[:, 0], batch.reward)


def test_sum_tree_finds_by_prefix_sum():
    tree = SumTree(5, torch.device("cpu"))
    tree.update(torch.arange(5), torch.tensor([1.0, 0.0, 3.0, 2.0, 4.0]))
    assert tree.total.item() == 10.0
    found = tree.find(
        torch.tensor([0.0, 0.99, 1.0, 3.99, 4.0, 5.99, 6.0, 9.99], dtype=torch.float64)
    )
    assert found.tolist() == [0, 0, 2, 2, 3, 3, 4, 4]


def test_prioritized_sampling_follows_priorities_and_weights_correct_it():
    buf = PrioritizedReplayBuffer(
        4, (1,), torch.float32, (), torch.long, torch.device("cpu"), alpha=1.0, eps=0.0
    )
    buf.add(transitions([0, 1, 2, 3]))
    buf.update_priorities(torch.arange(4), torch.tensor([1.0, 1.0, 1.0, 5.0]))
    gen = torch.Generator().manual_seed(0)
    counts = torch.zeros(4)
    for _ in range(200):
        batch = buf.sample(32, gen, beta=1.0)
        counts += torch.bincount(batch.index, minlength=4)
    share = counts / counts.sum()
    assert abs(share[3].item() - 5 / 8) < 0.03
    # With beta = 1 the weights undo the skew exactly: w ∝ 1 / P(i), max-normalised.
    batch = buf.sample(32, gen, beta=1.0)
    expected = torch.where(batch.index == 3, 0.2, 1.0)
    assert torch.allclose(batch.weight, expected)


class ByteFrames(TorchVectorEnv):
    """Random uint8 "frames" of 4 pixels, episodes of 3 steps, reward 1: a probe for storage."""

    env_id = "test/ByteFrames-v0"
    state_dim = 4
    max_episode_steps = 3
    single_observation_space = spaces.Box(0, 255, (4,), np.uint8)
    single_action_space = spaces.Discrete(2)

    def initial_state(self, n: int) -> torch.Tensor:
        return self.uniform(n, 0.0, 255.0).round_()

    def dynamics(self, actions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        ones = torch.ones(self.num_envs, device=self.device, dtype=self.dtype)
        return ones, torch.zeros(self.num_envs, dtype=torch.bool, device=self.device)

    def observe(self) -> torch.Tensor:
        return self.state.T.to(torch.uint8)


@pytest.mark.parametrize("agent_name", ["dqn", "ppo", "a2c", "reinforce"])
def test_buffers_store_uint8_observations_as_uint8(agent_name):
    """Frames stay uint8 in rollouts and replay until the network (DESIGN.md, Contracts); with
    observation normalisation on, the rollout holds the normalised float32 observations."""
    from rlbox.agents.a2c import A2C, A2CConfig
    from rlbox.agents.dqn import DQN, DQNConfig
    from rlbox.agents.ppo import PPO, PPOConfig
    from rlbox.agents.reinforce import Reinforce, ReinforceConfig

    agents = {
        "dqn": (DQN, DQNConfig(learning_starts=8, batch_size=4)),
        "ppo": (PPO, PPOConfig(n_steps=4, batch_size=4, n_epochs=1)),
        "a2c": (A2C, A2CConfig(n_steps=4)),
        "reinforce": (Reinforce, ReinforceConfig(episodes_per_update=2)),
    }
    agent_class, config = agents[agent_name]
    env = ByteFrames(2)
    small = BackboneSpec("mlp", {"hidden_sizes": (8,), "activation": "tanh"})
    agent = agent_class(env, config, device=torch.device("cpu"), seed=0, horizon=64, backbone=small)
    agent.learn(34)  # past an update of each agent, into the next rollout
    assert (agent.gradient_steps if agent_name == "dqn" else agent.updates) > 0
    stored = agent.buffer.state_dict()
    obs = stored["obs"] if agent_name != "reinforce" else stored["rows"]["obs"][0]
    assert obs.dtype == torch.uint8
    assert agent.act(env.reset(seed=1)).shape == (2,)
    if agent_name == "dqn":
        assert stored["next_obs"].dtype == torch.uint8
    else:
        normalized = agent_class(env, dataclasses.replace(config, normalize_obs=True),
                                 device=torch.device("cpu"), seed=0, horizon=64,
                                 backbone=small)  # fmt: skip
        normalized.learn(34)
        stored = normalized.buffer.state_dict()
        obs = stored["obs"] if agent_name != "reinforce" else stored["rows"]["obs"][0]
        assert obs.dtype == torch.float32
