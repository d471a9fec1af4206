"""Gymnasium envs as agents see them, the same in training, evaluation and TF-Agents: spaces,
env options (`--set env.<kwarg>=`), and ids of envs a user registers."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium import spaces

import rlbox
from rlbox import envs
from rlbox.errors import ConfigError, RlboxError
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
    evaluated_on = envs.make_eval(env_id)
    assert evaluated_on.observation_space == trained_on.single_observation_space
    if not isinstance(space, spaces.MultiBinary):
        assert evaluated_on.action_space == trained_on.single_action_space
        assert np.all(evaluated_on.action_space.start == 0)
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
    evaluated_on = envs.make_eval(env_id)
    obs, _ = evaluated_on.reset(seed=3)
    assert obs.shape == (n,) and obs[evaluated_on.unwrapped.s] == 1.0 and obs.sum() == 1.0


@pytest.mark.parametrize(("env_id", "space"), [("Blackjack-v1", "Tuple"),
                                               ("rlbox-test/DictObs-v0", "Dict")])  # fmt: skip
def test_unsupported_observation_spaces_fail_when_the_env_is_made(env_id, space):
    for make in (lambda: envs.make(env_id), lambda: envs.make_eval(env_id)):
        with pytest.raises(RlboxError) as error:
            make()
        message = str(error.value)
        assert "\n" not in message and message.startswith(f"{env_id} has {space}(")
        assert "only Box, Discrete, MultiDiscrete and MultiBinary observations" in message


def test_box_envs_are_left_as_they_are():
    assert type(envs.make_eval("CartPole-v1")) is type(gym.make("CartPole-v1"))


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


# FrozenLake's 4x4 map, when the ice does not slip: right, right, down, down, down, right
TO_THE_GOAL = [2, 2, 1, 1, 1, 2]


def test_env_options_reach_the_training_and_the_evaluation_env():
    options = {"is_slippery": False}
    trained_on = envs.make("FrozenLake-v1", num_envs=2, **options)
    assert all(copy.spec.kwargs["is_slippery"] is False for copy in trained_on.env.envs)
    for action in TO_THE_GOAL:
        step = trained_on.step(torch.tensor([action, action]))
    assert step.terminated.tolist() == [True, True] and step.reward.tolist() == [1.0, 1.0]
    assert envs.make_eval("FrozenLake-v1", **options).spec.kwargs["is_slippery"] is False
    acted = []

    def act(obs):
        acted.append(obs)
        return torch.full((len(obs),), TO_THE_GOAL[len(acted) - 1])

    result = evaluate(act, "FrozenLake-v1", episodes=3, seed=0, env_options=options)
    assert result.returns.tolist() == [1.0] * 3 and result.lengths.tolist() == [6] * 3


@pytest.mark.parametrize(
    ("env_id", "overrides", "message"),
    [
        ("FrozenLake-v1", {"env.map_name": "9x9"}, "FrozenLake-v1 refuses env.map_name='9x9'"),
        ("CartPole-v1", {"backend": "torch", "env.sutton_barto_reward": True},
         "the torch backend takes none"),
    ],
)  # fmt: skip
def test_bad_env_options_are_one_line_errors_before_a_run_starts(
    tmp_path, env_id, overrides, message
):
    with pytest.raises(ConfigError) as error:
        rlbox.train("dqn", env_id, steps=100, overrides=overrides, out=tmp_path / "runs")
    assert message in str(error.value) and "\n" not in str(error.value)
    assert not (tmp_path / "runs").exists()


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: envs.make("CartPole-v1", backend="torch", sutton_barto_reward=True),
         "the torch backend takes no env options (got sutton_barto_reward)"),
        (lambda: envs.make_eval("rlbox_no_such_module:CartPole-v1"),
         "rlbox_no_such_module:CartPole-v1: cannot import 'rlbox_no_such_module'"),
        (lambda: envs.check_env_id("tests_corridor_absent:rlbox-test/Nowhere-v0"),
         "cannot import 'tests_corridor_absent'"),
    ],
)  # fmt: skip
def test_env_ids_and_options_envs_cannot_take_are_one_line_errors(make, message):
    with pytest.raises(RlboxError) as error:
        make()
    assert message in str(error.value) and "\n" not in str(error.value)


USER_MODULE = '''
import gymnasium as gym
from gymnasium import spaces


class Corridor(gym.Env):
    """Walk right (action 1) from cell 0 to the last of `length` cells, rewarded there."""

    metadata = {"render_modes": []}

    def __init__(self, length=5):
        self.length = length
        self.observation_space, self.action_space = spaces.Discrete(length), spaces.Discrete(2)

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.cell = 0
        return self.cell, {}

    def step(self, action):
        self.cell = min(max(self.cell + (1 if action == 1 else -1), 0), self.length - 1)
        end = self.cell == self.length - 1
        return self.cell, float(end), end, False, {}


gym.register("rlbox-test/Corridor-v0", entry_point=Corridor, max_episode_steps=20)
'''


def test_a_user_registered_env_trains_with_its_options_by_module_and_id(tmp_path, monkeypatch):
    """`module:Env-v0` imports the module that registers the env, as `gymnasium.make` does.
    The option changes the observation space, so an evaluation or a `predict` on an env made
    without it would not fit the agent's network."""
    (tmp_path / "rlbox_test_corridor.py").write_text(USER_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    small = {"eval_every": 200, "eval_episodes": 2, "final_eval_episodes": 2, "log_every": 100,
             "learning_starts": 100, "device": "cpu", "env.length": 3}  # fmt: skip
    result = rlbox.train("dqn", "rlbox_test_corridor:rlbox-test/Corridor-v0", steps=300,
                         overrides=small, out=tmp_path / "runs")  # fmt: skip
    assert result.env_steps == 300 and 0.0 <= result.eval_return_mean <= 1.0
    policy = rlbox.load(result.run_dir, checkpoint="last")
    assert policy.observation_space == spaces.Discrete(3)
    assert policy.predict(np.array([0, 1, 2])).shape == (3,)
