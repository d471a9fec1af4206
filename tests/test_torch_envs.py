"""Torch-native envs against Gymnasium's: the same dynamics, rewards, ends and time limits."""

import dataclasses
import math

import gymnasium as gym
import numpy as np
import pytest
import torch

from rlbox.agents.common.loop import ChunkMetrics
from rlbox.envs import PROBES
from rlbox.envs.torch import TORCH_ENVS


def gym_state(gym_env):
    unwrapped = gym_env.unwrapped
    return np.asarray(getattr(unwrapped, "state", [getattr(unwrapped, "_value", 0.0)]), np.float64)


def reset_state(gym_env, seed):
    gym_env.reset(seed=seed)
    return gym_state(gym_env)


def copy_state(torch_env, i, gym_env):
    torch_env.state[:, i] = torch.as_tensor(gym_state(gym_env), dtype=torch_env.dtype)


def choose(env_id, reference, i):
    """Random actions; on copies 0 and 1 of the mountain cars and Acrobot, a push along the
    velocity (which pumps energy and reaches the goal), so that terminations are compared too.
    Box actions go out of bounds on copies 1 to 3 (up to 3 times the bound), as a Gaussian
    policy's do: the envs clip them for the dynamics, and some penalise the raw action."""
    space = reference.action_space
    if env_id.startswith("MountainCar") and i < 2:
        forward = reference.unwrapped.state[1] >= 0
        if env_id == "MountainCar-v0":
            return 2 if forward else 0
        return np.array([(1.0 if forward else -1.0) * (1 + i)], dtype=np.float32)
    if env_id == "Acrobot-v1" and i < 2:
        return 2 if reference.unwrapped.state[3] > 0 else 0
    if isinstance(space, gym.spaces.Box) and i >= 1:
        return (space.sample() * 3).astype(np.float32)
    return space.sample()


# (env id, time limit, whether terminations and truncations must occur in the 1000 steps);
# CartPole and Acrobot with a short limit so that truncations happen under random actions too
@pytest.mark.parametrize(
    ("env_id", "max_steps", "terminations", "truncations"),
    [
        ("CartPole-v1", 40, True, True),
        ("Pendulum-v1", None, False, True),
        ("MountainCar-v0", None, True, True),
        ("MountainCarContinuous-v0", None, True, True),
        ("Acrobot-v1", 150, True, True),
        *[(env_id, None, env_id != "rlbox/Truncated-v0", env_id == "rlbox/Truncated-v0")
          for env_id in PROBES],
    ],
)  # fmt: skip
def test_same_steps_as_gymnasium_for_1000_steps_across_resets(
    env_id, max_steps, terminations, truncations
):
    n = 4
    limit = {"max_episode_steps": max_steps} if max_steps else {}
    references = [gym.make(env_id, **limit) for _ in range(n)]
    env = TORCH_ENVS[env_id](n, **limit)  # default dtype: float64, as Gymnasium's state
    env.reset(seed=0)
    for i, reference in enumerate(references):
        reference.reset(seed=i)
        reference.action_space.seed(i)
        copy_state(env, i, reference)
    ends = {"terminated": 0, "truncated": 0}
    for t in range(1_000):
        actions = [choose(env_id, reference, i) for i, reference in enumerate(references)]
        step = env.step(torch.as_tensor(np.stack(actions)))
        for i, reference in enumerate(references):
            obs, reward, terminated, truncated, _ = reference.step(actions[i])
            np.testing.assert_allclose(step.final_obs[i].numpy(), obs, rtol=0, atol=1e-5)
            assert step.reward[i].item() == pytest.approx(reward, rel=1e-6, abs=1e-5)
            assert (bool(step.terminated[i]), bool(step.truncated[i])) == (terminated, truncated)
            if terminated or truncated:
                ends["terminated" if terminated else "truncated"] += 1
                reference.reset(seed=10_000 + t * n + i)
                copy_state(env, i, reference)
    assert (ends["terminated"] > 0, ends["truncated"] > 0) == (terminations, truncations)


@pytest.mark.parametrize("env_id", sorted(TORCH_ENVS))
def test_spaces_match_gymnasium(env_id):
    reference = gym.make(env_id)
    env = TORCH_ENVS[env_id](2)
    assert env.single_observation_space == reference.observation_space
    assert env.single_action_space == reference.action_space
    assert env.max_episode_steps == reference.spec.max_episode_steps


# Gymnasium's documented initial states: each state variable uniform in [low, high]
UNIFORM_STARTS = {
    "CartPole-v1": [(-0.05, 0.05)] * 4,
    "Pendulum-v1": [(-math.pi, math.pi), (-1.0, 1.0)],
    "MountainCar-v0": [(-0.6, -0.4), (0.0, 0.0)],
    "MountainCarContinuous-v0": [(-0.6, -0.4), (0.0, 0.0)],
    "Acrobot-v1": [(-0.1, 0.1)] * 4,
}


@pytest.mark.parametrize("env_id", sorted(TORCH_ENVS))
def test_initial_states_are_distributed_as_gymnasium(env_id):
    """10,000 initial states of the twin against the documented ranges and 2,000 resets of
    Gymnasium's env: the same support, and means and spreads that agree within sampling noise
    (about 0.3% of the range for the twin, 1.5% for the reference). The probes start at 0, or at
    -1 or +1 with even odds."""
    env = TORCH_ENVS[env_id](10_000)
    env.reset(seed=0)
    twin = env.state.T.numpy()
    reference = gym.make(env_id)
    ref = np.stack([reset_state(reference, seed) for seed in range(2_000)])
    if env_id not in UNIFORM_STARTS:
        assert set(np.unique(twin)) == set(np.unique(ref)) <= {-1.0, 0.0, 1.0}
        assert abs(twin.mean() - ref.mean()) < 0.1 and abs(twin.mean()) < 0.03
        return
    low, high = np.array(UNIFORM_STARTS[env_id]).T
    width = high - low
    for draws in (twin, ref):
        assert (draws >= low - 1e-6).all() and (draws <= high + 1e-6).all()
    assert (twin.min(0) - low <= 0.01 * width).all() and (high - twin.max(0) <= 0.01 * width).all()
    assert (np.abs(twin.mean(0) - (low + high) / 2) <= 0.01 * width).all()
    assert (np.abs(twin.std(0) - width / math.sqrt(12)) <= 0.01 * width).all()
    assert (np.abs(twin.mean(0) - ref.mean(0)) <= 0.05 * width).all()
    assert (np.abs(twin.std(0) - ref.std(0)) <= 0.05 * width).all()


def test_autoreset_episode_statistics_and_seeding():
    env = TORCH_ENVS["CartPole-v1"](64)
    first = env.reset(seed=3)
    assert torch.equal(first, TORCH_ENVS["CartPole-v1"](64).reset(seed=3))
    assert first.abs().max() <= 0.05
    lengths, total = [], 0
    for _ in range(200):
        step = env.step(torch.ones(64, dtype=torch.long))  # always push right: falls fast
        total += int(step.done.sum())
        lengths += step.episode_length[step.done].tolist()
        assert torch.equal(step.episode_return[step.done], step.episode_length[step.done].double())
        assert step.obs[step.done].abs().max() <= 0.05 if step.done.any() else True
    assert total == len(lengths) > 64 and min(lengths) >= 8


@pytest.mark.parametrize("agent", ["dqn", "ppo", "a2c"])
def test_agents_learn_a_probe_on_the_torch_backend(agent):
    from rlbox.run.build import build_agent, prepare

    overrides = {"backend": "torch", "device": "cpu", "num_envs": 8, "hidden_sizes": [32]}
    overrides |= {"dqn": {"learning_starts": 200}, "ppo": {"n_steps": 16}, "a2c": {}}[agent]
    experiment, agent_class = prepare(agent, "rlbox/ActionObsReward-v0", overrides)
    learner = build_agent(experiment, agent_class)
    assert type(learner.env).__name__ == "ActionObsReward"  # the torch twin, not Gymnasium's
    learner.learn(4_000)
    assert learner.act(torch.tensor([[-1.0], [1.0]])).tolist() == [0, 1]


class HostQuestions(torch.utils._python_dispatch.TorchDispatchMode):
    """Counts the operations that make the host wait for the device (item, bool, nonzero)."""

    SYNCING = frozenset({"aten::_local_scalar_dense", "aten::nonzero", "aten::is_nonzero"})

    def __init__(self):
        super().__init__()
        self.asked = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func._schema.name in self.SYNCING:
            self.asked.append(func._schema.name)
        return func(*args, **(kwargs or {}))


@pytest.mark.parametrize("env_id", ["CartPole-v1", "Acrobot-v1", "Pendulum-v1"])
def test_device_resets_never_ask_the_host(env_id):
    """The accelerator path (forced here on the CPU) steps and resets without a host sync and
    keeps the contract: finished copies restart from an initial state, statistics add up."""
    n, limit = 32, 20
    env = TORCH_ENVS[env_id](n, max_episode_steps=limit)
    env.resets_on_host = False
    env.reset(seed=0)
    actions = torch.as_tensor(np.stack([env.single_action_space.sample() for _ in range(n)]))
    with HostQuestions() as questions:
        steps = [env.step(actions) for _ in range(3 * limit)]
    assert questions.asked == []
    bounds = TORCH_ENVS[env_id](n).initial_state(10_000).abs().amax(1, keepdim=True)
    for step in steps:
        assert (step.episode_length[step.done] <= limit).all()
        assert torch.equal(step.done, step.terminated | step.truncated)
    last = steps[-1].done
    assert (env.state[:, last].abs() <= bounds + 1e-12).all()  # restarted in an initial state
    assert sum(int(s.done.sum()) for s in steps) >= 2 * n  # two whole episodes per copy at least


@pytest.mark.parametrize("agent", ["dqn", "ppo", "a2c", "reinforce"])
def test_training_steps_never_ask_the_host_on_a_device(agent):
    """The rollout loop as it runs on an accelerator (forced here on the CPU): acting, stepping
    the torch env and storing what happened take no host sync; REINFORCE asks once in 16 steps
    whether enough episodes have ended. Budgets keep every agent from learning meanwhile."""
    from rlbox.run.build import build_agent, prepare

    not_yet = {"dqn": {"learning_starts": 10**6}, "ppo": {"n_steps": 1000},
               "a2c": {"n_steps": 1000}, "reinforce": {"episodes_per_update": 10**6}}  # fmt: skip
    overrides = {"backend": "torch", "device": "cpu", "num_envs": 8, **not_yet[agent]}
    learner = build_agent(*prepare(agent, "CartPole-v1", overrides))
    learner.env.resets_on_host = False
    if hasattr(learner, "syncs_are_free"):
        learner.syncs_are_free = False
    learner.learn(8)  # the first reset and step
    with HostQuestions() as questions:
        if agent == "dqn":
            for _ in range(64):  # the body of run_loop, without its end-of-chunk sums
                action = learner.explore(learner.loop.obs, learner.env_steps)
                step = learner.env.step(action)
                learner.observe(learner.loop.obs, action, step)
                learner.loop.obs = step.obs
                learner.loop.env_steps += learner.env.num_envs
                assert not learner.update(learner.env_steps)
        else:  # 64 steps of collection, without learn's end-of-chunk sums
            metrics = ChunkMetrics(learner.device)
            assert learner.collect_rollout(learner.env_steps + 64 * 8, metrics) is None
    assert len(questions.asked) == (4 if agent == "reinforce" else 0)


DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="no CUDA device"))]  # fmt: skip


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("resets_on_host", [True, False])
@pytest.mark.parametrize("env_id", sorted(TORCH_ENVS))
def test_a_fresh_env_loaded_from_a_state_dict_takes_the_same_steps(env_id, resets_on_host, device):
    """Save mid-episode, take k steps, load into a new env and take them again: every field of
    every Step is the same. A time limit of 7 makes the k = 20 steps draw initial states too."""
    n, k = 5, 20

    def make():
        env = TORCH_ENVS[env_id](n, device, max_episode_steps=7)
        env.resets_on_host = resets_on_host
        return env

    env = make()
    env.reset(seed=1)
    space = env.single_action_space
    space.seed(0)
    actions = [torch.as_tensor(np.stack([space.sample() for _ in range(n)])) for _ in range(3 + k)]
    for action in actions[:3]:
        env.step(action)
    saved = env.state_dict()
    before = [env.step(action) for action in actions[3:]]
    fresh = make()
    fresh.load_state_dict(saved)
    after = [fresh.step(action) for action in actions[3:]]
    assert sum(int(step.done.sum()) for step in before) >= n  # initial states were drawn
    for first, again in zip(before, after, strict=True):
        for field in dataclasses.fields(first):
            a, b = getattr(first, field.name), getattr(again, field.name)
            assert (a is None and b is None) or torch.equal(a, b), field.name


def test_a_state_dict_for_other_copies_is_refused():
    from rlbox.errors import CheckpointError

    saved = TORCH_ENVS["CartPole-v1"](4).state_dict()
    with pytest.raises(CheckpointError, match="does not fit 8 copies"):
        TORCH_ENVS["CartPole-v1"](8).load_state_dict(saved)
