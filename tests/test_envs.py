"""The spaces agents see on Gymnasium envs, the same in training, evaluation and TF-Agents."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces

from rlbox import envs
from rlbox.errors import RlboxError
from rlbox.run.evaluation import evaluate


class Echo(gym.Env):
    """Observes the raw action it last got (`first` after a reset) and rewards sum_i a_i 10^i,
    so both say which action reached the env; an action outside its space is an error."""

    metadata = {"render_modes": []}  # noqa: RUF012

    def __init__(self, space: spaces.Space, first) -> None:
        self.action_space = self.observation_space = space
        self.first = first

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        return self.first, {}

    def step(self, action):
        assert self.action_space.contains(action), action
        digits = np.ravel(action)
        return action, float(digits @ 10.0 ** np.arange(len(digits))), False, False, {}


# id: (space, first obs, an agent's action, the reward it must earn, the obs the agent must see)
ECHOES = {
    "rlbox-test/EchoDiscrete-v0": (
        spaces.Discrete(3, start=1), np.int64(1), 2, 3.0, [0, 0, 1],  # action 2 is the env's 3
    ),
    "rlbox-test/EchoMultiDiscrete-v0": (
        spaces.MultiDiscrete([2, 3], start=[5, -1]), np.array([5, -1]), [1, 0],
        6.0 - 10.0, [0, 1, 1, 0, 0],  # one-hot of 6 in {5, 6}, then of -1 in {-1, 0, 1}
    ),
    "rlbox-test/EchoMultiBinary-v0": (
        spaces.MultiBinary(3), np.zeros(3, np.int8), [1, 0, 1], 101.0, [1, 0, 1],
    ),
}  # fmt: skip
for env_id, (space, first, *_) in ECHOES.items():
    gym.register(env_id, entry_point=Echo, kwargs={"space": space, "first": first},
                 max_episode_steps=3)  # fmt: skip
gym.register("rlbox-test/DictObs-v0", entry_point=Echo, kwargs={"space": spaces.Dict(
    {"a": spaces.Discrete(2)}), "first": {"a": 0}})  # fmt: skip


@pytest.mark.parametrize("env_id", ECHOES)
def test_training_shifts_actions_by_start_and_one_hot_encodes_observations(env_id):
    _, _, action, reward, seen = ECHOES[env_id]
    env = envs.make(env_id, num_envs=2)
    assert env.single_observation_space == spaces.Box(0.0, 1.0, (len(seen),), np.float32)
    step = env.step(torch.tensor([action, action]))
    assert step.reward.tolist() == [reward, reward]
    assert step.obs.dtype == torch.float32
    assert step.obs.tolist() == [seen, seen]


@pytest.mark.parametrize("env_id", ECHOES)
def test_evaluation_sees_and_acts_in_the_training_spaces(env_id):
    space, _, action, reward, seen = ECHOES[env_id]
    trained_on = envs.make(env_id)
    reference = envs.make_reference(env_id)
    assert reference.observation_space == trained_on.single_observation_space
    if not isinstance(space, spaces.MultiBinary):
        assert reference.action_space == trained_on.single_action_space
        assert np.all(reference.action_space.start == 0)
    observed = []

    def act(obs):
        observed.append(obs)
        return torch.tensor([action] * len(obs))

    result = evaluate(act, env_id, episodes=2, seed=0)
    assert result.returns.tolist() == [3 * reward] * 2  # three steps, then the time limit
    assert observed[1].dtype == torch.float32 and observed[1].tolist() == [seen, seen]


@pytest.mark.parametrize(("env_id", "n"), [("FrozenLake-v1", 16), ("Taxi-v4", 500),
                                           ("CliffWalking-v1", 48)])  # fmt: skip
def test_discrete_observation_envs_observe_the_one_hot_state(env_id, n):
    env = envs.make(env_id, num_envs=2, seed=3)
    obs = env.reset(seed=3)
    states = [copy.unwrapped.s for copy in env.env.envs]
    assert env.single_observation_space == spaces.Box(0.0, 1.0, (n,), np.float32)
    assert torch.equal(obs, torch.nn.functional.one_hot(torch.tensor(states), n).float())
    reference = envs.make_reference(env_id)
    obs, _ = reference.reset(seed=3)
    assert obs.shape == (n,) and obs[reference.unwrapped.s] == 1.0 and obs.sum() == 1.0


@pytest.mark.parametrize(("env_id", "space"), [("Blackjack-v1", "Tuple"),
                                               ("rlbox-test/DictObs-v0", "Dict")])  # fmt: skip
def test_unsupported_observation_spaces_fail_when_the_env_is_made(env_id, space):
    for make in (lambda: envs.make(env_id), lambda: envs.make_reference(env_id)):
        with pytest.raises(RlboxError) as error:
            make()
        message = str(error.value)
        assert "\n" not in message and message.startswith(f"{env_id} has {space}(")
        assert "only Box, Discrete, MultiDiscrete and MultiBinary observations" in message


def test_box_envs_are_left_as_they_are():
    assert type(envs.make_reference("CartPole-v1")) is type(gym.make("CartPole-v1"))


def test_tf_agents_adapter_speaks_the_same_spaces():
    pytest.importorskip("tf_agents")
    from rlbox.agents.tfagents.env import BatchedGymnasium

    _, _, action, reward, seen = ECHOES["rlbox-test/EchoDiscrete-v0"]
    batched = BatchedGymnasium("rlbox-test/EchoDiscrete-v0", 1, seed=0).env
    assert batched.observation_spec().shape == (3,)
    assert (batched.action_spec().minimum, batched.action_spec().maximum) == (0, 2)
    batched.reset()
    step = batched.step(np.array([action]))
    assert step.reward.tolist() == [reward] and step.observation.tolist() == [seen]
