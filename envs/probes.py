"""Tiny probe environments with known values, for testing that an agent learns at all.

Each isolates one part of an agent (after Andy Jones, "Debugging RL, Without the Agonizing
Pain", 2021): if an agent fails a probe, the bug is in the part that probe exercises. Episodes
are one or two steps long, so the true values are known in closed form:

| id                       | obs        | actions | reward                   | Q*            |
|--------------------------|------------|---------|--------------------------|---------------|
| rlbox/ConstantReward-v0  | 0          | 1       | 1                        | 1             |
| rlbox/ObsReward-v0       | -1 or +1   | 1       | obs                      | obs           |
| rlbox/TwoStep-v0         | 0, then 1  | 1       | 0, then 1                | gamma, then 1 |
| rlbox/ActionReward-v0    | 0          | 2       | -1 for 0, +1 for 1       | -1, +1        |
| rlbox/ActionObsReward-v0 | -1 or +1   | 2       | +1 if action matches obs | +1 or -1      |
| rlbox/Truncated-v0       | 0          | 1       | 1, truncated after 5     | 1 / (1-gamma) |
| rlbox/TargetAction-v0    | -1 or +1   | [-1, 1] | -(a - obs / 2)^2         | -(a - obs/2)^2|

(action 1 "matches" obs +1 and action 0 matches obs -1). rlbox/Truncated-v0 never terminates;
a TimeLimit cuts it after 5 steps. Its observation does not show the time, so only an agent
that bootstraps on truncation learns the true value 1 / (1 - gamma); one that treats the cut as
the end of the task learns the average of the truncated returns instead. rlbox/TargetAction-v0
is the one with Box actions: the best action, obs / 2, lies inside the bounds, so a Gaussian
policy's mean must find it rather than pile up at a bound.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

OBS_SPACE = spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)


class _Probe(gym.Env):
    observation_space = OBS_SPACE
    metadata: dict[str, Any] = {"render_modes": []}  # noqa: RUF012

    def __init__(self, n_actions: int = 1) -> None:
        self.action_space = spaces.Discrete(n_actions)
        self._value = 0.0

    def _obs(self) -> np.ndarray:
        return np.array([self._value], dtype=np.float32)


class ConstantReward(_Probe):
    """Reward 1 after one step: the value of a constant."""

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        return self._obs(), {}

    def step(self, action):
        return self._obs(), 1.0, True, False, {}


class ObsReward(_Probe):
    """Reward = observation (±1): values that depend on the state."""

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._value = float(self.np_random.choice([-1.0, 1.0]))
        return self._obs(), {}

    def step(self, action):
        return self._obs(), self._value, True, False, {}


class TwoStep(_Probe):
    """Reward 1 at the second of two steps: discounting."""

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._value = 0.0
        return self._obs(), {}

    def step(self, action):
        if self._value == 0.0:
            self._value = 1.0
            return self._obs(), 0.0, False, False, {}
        return self._obs(), 1.0, True, False, {}


class ActionReward(_Probe):
    """Reward +1 for action 1, -1 for action 0: values of actions."""

    def __init__(self) -> None:
        super().__init__(n_actions=2)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        return self._obs(), {}

    def step(self, action):
        return self._obs(), 1.0 if int(action) == 1 else -1.0, True, False, {}


class ActionObsReward(_Probe):
    """Reward +1 when the action matches the sign of the observation."""

    def __init__(self) -> None:
        super().__init__(n_actions=2)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._value = float(self.np_random.choice([-1.0, 1.0]))
        return self._obs(), {}

    def step(self, action):
        matches = (int(action) == 1) == (self._value > 0)
        return self._obs(), 1.0 if matches else -1.0, True, False, {}


class Truncated(_Probe):
    """Reward 1 forever, cut by a TimeLimit after 5 steps: bootstrapping on truncation."""

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        return self._obs(), {}

    def step(self, action):
        return self._obs(), 1.0, False, False, {}


class TargetAction(_Probe):
    """Reward -(a - obs / 2)^2 for a continuous action a in [-1, 1]: a Gaussian policy's mean."""

    action_space = spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)

    def __init__(self) -> None:
        self._value = 0.0

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        self._value = float(self.np_random.choice([-1.0, 1.0]))
        return self._obs(), {}

    def step(self, action):
        reward = -float((float(np.asarray(action).reshape(-1)[0]) - self._value / 2) ** 2)
        return self._obs(), reward, True, False, {}


PROBES = {
    "rlbox/ConstantReward-v0": ConstantReward,
    "rlbox/ObsReward-v0": ObsReward,
    "rlbox/TwoStep-v0": TwoStep,
    "rlbox/ActionReward-v0": ActionReward,
    "rlbox/ActionObsReward-v0": ActionObsReward,
    "rlbox/Truncated-v0": Truncated,
    "rlbox/TargetAction-v0": TargetAction,
}
MAX_EPISODE_STEPS = {"rlbox/Truncated-v0": 5}


def register_probes() -> None:
    for env_id, cls in PROBES.items():
        if env_id not in gym.registry:
            gym.register(
                env_id,
                entry_point=f"{__name__}:{cls.__name__}",
                max_episode_steps=MAX_EPISODE_STEPS.get(env_id, 10),
            )
