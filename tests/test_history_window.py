"""Windows of the last K observations (`history=K`, envs.wrappers.HistoryWindow), the same in
training and evaluation, and rlbox/CartPoleNoVel-v1, the env that needs them."""

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlbox import envs
from rlbox.errors import RlboxError

K, SEED = 3, 3


def shifted(window: torch.Tensor, obs: torch.Tensor) -> torch.Tensor:
    return torch.cat([window[1:], obs[None]])


def padded(obs: torch.Tensor) -> torch.Tensor:
    return shifted(torch.zeros(K, *obs.shape), obs)


def test_windows_are_the_last_k_observations_zero_padded_after_each_reset():
    """A windowed vector env against the same env unwindowed, stepped with the same actions:
    through several episode ends, each window holds the last K raw observations, the final
    observation of an episode is its window, and the next episode starts a fresh padded one."""
    windowed = envs.make("CartPole-v1", num_envs=2, seed=SEED, history=K)
    raw = envs.make("CartPole-v1", num_envs=2, seed=SEED)
    assert windowed.single_observation_space.shape == (K, 4)
    obs = windowed.reset(seed=SEED)
    raw_obs = raw.reset(seed=SEED)
    expected = torch.stack([padded(o) for o in raw_obs])
    torch.testing.assert_close(obs, expected, rtol=0, atol=0)
    ends = 0
    generator = torch.Generator().manual_seed(0)
    for _ in range(80):
        # copy 0 always pushes left (episodes of about 10 steps), copy 1 acts at random
        actions = torch.stack([torch.tensor(0), torch.randint(2, (), generator=generator)])
        step, raw_step = windowed.step(actions), raw.step(actions)
        assert torch.equal(step.done, raw_step.done) and torch.equal(step.reward, raw_step.reward)
        for i in range(2):
            final = shifted(expected[i], raw_step.final_obs[i])
            torch.testing.assert_close(step.final_obs[i], final, rtol=0, atol=0)
            if step.done[i]:
                ends += 1
                expected[i] = padded(raw_step.obs[i])
                assert not step.obs[i, :-1].any()
            else:
                expected[i] = final
        torch.testing.assert_close(step.obs, expected, rtol=0, atol=0)
    assert ends >= 4


def test_evaluation_sees_the_windows_training_sees():
    training = envs.make("CartPole-v1", num_envs=1, seed=SEED, history=K)
    evaluation = envs.make_eval("CartPole-v1", history=K)
    assert evaluation.observation_space == training.single_observation_space
    obs, _ = evaluation.reset(seed=SEED)
    np.testing.assert_array_equal(obs, training.reset(seed=SEED)[0].numpy())
    for action in (1, 0, 1, 1):
        obs, *_ = evaluation.step(action)
        np.testing.assert_array_equal(obs, training.step(torch.tensor([action])).obs[0].numpy())


def test_history_is_rlbox_s_option_and_never_reaches_gymnasium_make(monkeypatch):
    given = []
    make = gym.make

    def spy(env_id, **kwargs):
        given.append(kwargs)
        return make(env_id, **kwargs)

    monkeypatch.setattr(gym, "make", spy)
    envs.make("CartPole-v1", num_envs=2, history=K, sutton_barto_reward=True)
    envs.make_eval("CartPole-v1", history=K, sutton_barto_reward=True)
    assert given == [{"sutton_barto_reward": True}] * 3


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: envs.make("CartPole-v1", backend="torch", history=K),
         r"^history windows need the gymnasium backend; drop --backend torch$"),
        (lambda: envs.make_eval("CartPole-v1", history=-1),
         r"^invalid value for 'history': a window length >= 0, got -1$"),
        (lambda: envs.make("CartPole-v1", history="3"),
         r"^invalid value for 'history'"),
    ],
)  # fmt: skip
def test_a_window_where_there_can_be_none_is_one_line(make, message):
    with pytest.raises(RlboxError, match=message) as error:
        make()
    assert "\n" not in str(error.value)


def test_atari_frames_take_no_history_window():
    pytest.importorskip("ale_py")
    for make in (envs.make, envs.make_eval):
        with pytest.raises(RlboxError, match=r"^history windows are not for Atari frames"):
            make("ALE/Pong-v5", history=K)


def test_no_history_is_the_plain_env():
    assert type(envs.make_eval("CartPole-v1", history=0)) is type(gym.make("CartPole-v1"))
    assert envs.make("CartPole-v1", history=None).single_observation_space.shape == (4,)


def balance(state: np.ndarray) -> int:
    """Push towards where the pole falls, seen from the full state: keeps CartPole up 500 steps."""
    return int(np.dot([0.1, 0.5, 10.0, 2.0], state) > 0)


def test_cartpole_without_velocities_is_cartpole_observing_x_and_theta():
    full, novel = gym.make("CartPole-v1"), gym.make("rlbox/CartPoleNoVel-v1")
    assert novel.observation_space.shape == (2,)
    assert (novel.spec.max_episode_steps, novel.spec.reward_threshold) == (500, 475.0)
    state, _ = full.reset(seed=SEED)
    obs, _ = novel.reset(seed=SEED)
    for t in range(1, 501):
        np.testing.assert_array_equal(obs, state[[0, 2]])
        action = balance(state)
        state, reward, terminated, truncated, _ = full.step(action)
        obs, novel_reward, novel_terminated, novel_truncated, _ = novel.step(action)
        assert (novel_reward, novel_terminated, novel_truncated) == (reward, terminated, truncated)
        assert not terminated and truncated == (t == 500)


def test_cartpole_without_velocities_is_made_and_rendered_as_any_env():
    training = envs.make("rlbox/CartPoleNoVel-v1", num_envs=2, history=8)
    assert training.single_observation_space.shape == (8, 2)
    evaluation = envs.make_eval("rlbox/CartPoleNoVel-v1", history=8, render_mode="rgb_array")
    assert evaluation.observation_space == training.single_observation_space
    evaluation.reset(seed=SEED)
    assert evaluation.render().shape == (400, 600, 3)
