"""Every VectorEnv backend against the autoreset contract of `rlbox.envs.base.Step`.

Each backend declares `AUTORESET_MODE` (same-step) and keeps it: on the step an episode ends,
`obs` is the first observation of the next episode (what a reset gives), `final_obs` is the
observation the step led to, and `terminated` and `truncated` say apart how it ended. Every env
runs with a time limit or is a probe of known episode length, so each case ends at a known step.
"""

from dataclasses import dataclass

import pytest
import torch
from gymnasium import spaces

from rlbox import envs
from rlbox.envs import AUTORESET_MODE, PROBES, observation_dtype
from rlbox.envs.torch import TORCH_ENVS

N, SEED = 3, 7
CLASSIC = ["CartPole-v1", "Pendulum-v1", "MountainCar-v0", "MountainCarContinuous-v0",
           "Acrobot-v1"]  # fmt: skip


@dataclass(frozen=True)
class Case:
    backend: str
    env_id: str
    limit: int  # the time limit
    length: int  # the step every episode ends at
    terminated: bool
    truncated: bool

    def __str__(self) -> str:
        return f"{self.backend}-{self.env_id}-limit{self.limit}"


def probe_case(backend: str, env_id: str) -> Case:
    if env_id == "rlbox/Truncated-v0":  # never terminates; a time limit cuts it after 5 steps
        return Case(backend, env_id, 5, 5, terminated=False, truncated=True)
    length = 2 if env_id == "rlbox/TwoStep-v0" else 1
    return Case(backend, env_id, 10, length, terminated=True, truncated=False)


CASES = [
    Case("gymnasium", "CartPole-v1", 5, 5, terminated=False, truncated=True),
    *[Case("torch", env_id, 5, 5, terminated=False, truncated=True) for env_id in CLASSIC],
    *[probe_case(backend, env_id) for env_id in PROBES for backend in ("gymnasium", "torch")],
    # a time limit on a terminal step: both flags, as Gymnasium's TimeLimit sets them
    *[Case(backend, "rlbox/TwoStep-v0", 2, 2, terminated=True, truncated=True)
      for backend in ("gymnasium", "torch")],
]  # fmt: skip


def make(case: Case, limit: int) -> envs.VectorEnv:
    """The case's env with time limit `limit`, reset with SEED."""
    if case.backend == "torch":  # the torch backend takes no options; its class takes a limit
        env = TORCH_ENVS[case.env_id](N, max_episode_steps=limit)
    else:
        env = envs.make(case.env_id, num_envs=N, max_episode_steps=limit)
    env.reset(seed=SEED)
    return env


def constant_actions(space: spaces.Space) -> torch.Tensor:
    if isinstance(space, spaces.Box):
        return torch.zeros((N, *space.shape), dtype=torch.float32)
    return torch.zeros(N, dtype=torch.long)


@pytest.mark.parametrize("case", CASES, ids=str)
def test_every_backend_resets_in_the_same_step_and_keeps_the_final_observation(case):
    env, longer = make(case, case.limit), make(case, case.limit + 10)
    assert env.autoreset_mode == AUTORESET_MODE
    if case.backend == "gymnasium":  # the declared mode is the one Gymnasium steps with
        assert env.env.metadata["autoreset_mode"] == AUTORESET_MODE
    dtype = observation_dtype(env.single_observation_space)
    actions = constant_actions(env.single_action_space)
    previous = env.reset(seed=SEED)
    for _ in range(case.length - 1):
        step = env.step(actions)
        longer.step(actions)
        assert not step.done.any() and torch.equal(step.final_obs, step.obs)
        previous = step.obs
    step, longer_step = env.step(actions), longer.step(actions)

    assert step.obs.dtype == step.final_obs.dtype == dtype
    assert step.terminated.tolist() == [case.terminated] * N
    assert step.truncated.tolist() == [case.truncated] * N
    assert torch.equal(step.done, step.terminated | step.truncated)
    assert step.episode_length.tolist() == [case.length] * N

    twin = make(case, case.limit)
    assert torch.equal(step.obs, twin.reset())  # the next episode's start: what a reset gives
    if not case.terminated:  # cut by the limit: a longer limit goes on from the same observation
        assert not longer_step.done.any() and torch.equal(step.final_obs, longer_step.obs)
    else:  # the probes' last observation: TwoStep moves to 1, the others stay where they began
        last = torch.ones_like(previous) if case.env_id == "rlbox/TwoStep-v0" else previous
        assert torch.equal(step.final_obs, last)
    for made in (env, longer, twin):
        made.close()
