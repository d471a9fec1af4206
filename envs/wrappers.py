"""The spaces agents see: one adapter for every Gymnasium env rlbox makes.

Training (`rlbox.envs.make`), evaluation (`rlbox.envs.make_eval`) and the TF-Agents adapter
pass every Gymnasium env through `adapt_spaces`, so an agent trains and is scored on the same
spaces (Atari's training-only transforms, reward clipping and episodic life, are done by its
vector env, envs/atari/vector.py):

| env's space                       | what the agent sees                                  |
|-----------------------------------|------------------------------------------------------|
| Box observations                  | unchanged                                            |
| Discrete / MultiDiscrete obs      | one-hot float32 Box(0, 1), concatenated per variable |
| MultiBinary obs                   | float32 Box(0, 1), flattened                         |
| Dict, Tuple, Text, Graph, ... obs | an `RlboxError` when the env is made                 |
| Discrete / MultiDiscrete actions  | counted from 0; the env gets `action + start`        |

One-hot observations are what Stable-Baselines3 feeds its MLPs for discrete observations; an
index fed as a number would tell the network that state 7 lies between states 6 and 8.

`HistoryWindow` goes on top of the adapters where a run asks for one (`history=K`): the
sequence backbones (rlbox.nn.seq) read the last K observations as one observation, so buffers
and losses stay those of a memoryless agent.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rlbox.errors import RlboxError

OBSERVATION_SPACES = (spaces.Box, spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary)


class OneHotObservations(gym.ObservationWrapper):
    """Discrete, MultiDiscrete and MultiBinary observations as a flat float32 vector in [0, 1].

    Gymnasium's `spaces.flatten` does the encoding: a one-hot of `obs - start` for each discrete
    variable, the bits themselves for MultiBinary.
    """

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        self.observation_space = spaces.Box(
            0.0, 1.0, (spaces.flatdim(env.observation_space),), np.float32
        )

    def observation(self, observation: np.ndarray) -> np.ndarray:
        return spaces.flatten(self.env.observation_space, observation).astype(np.float32)


class ZeroBasedActions(gym.ActionWrapper):
    """Discrete and MultiDiscrete actions from 0 (agents index their outputs from 0); the env
    gets `action + start`, so `Discrete(3, start=1)` receives 1, 2 or 3 for actions 0, 1, 2."""

    def __init__(self, env: gym.Env) -> None:
        super().__init__(env)
        space = env.action_space
        self.start = space.start
        if isinstance(space, spaces.Discrete):
            self.action_space = spaces.Discrete(space.n, dtype=space.dtype)
        else:
            self.action_space = spaces.MultiDiscrete(space.nvec, dtype=space.dtype)

    def action(self, action: np.ndarray) -> np.ndarray:
        return action + self.start


def adapt_spaces(env: gym.Env) -> gym.Env:
    """`env` with the spaces agents see (see the module docstring); `env` itself if it has them.

    Raises a one-line `RlboxError` (and closes `env`) for observation spaces no backbone reads.
    """
    obs_space = env.observation_space
    if not isinstance(obs_space, OBSERVATION_SPACES):
        name = env.spec.id if env.spec is not None else type(env.unwrapped).__name__
        described = " ".join(str(obs_space).split())  # one line, however nested the space
        env.close()
        raise RlboxError(
            f"{name} has {described} observations; rlbox supports only Box, Discrete, "
            "MultiDiscrete and MultiBinary observations (no backbone takes the others yet)"
        )
    if not isinstance(obs_space, spaces.Box):
        env = OneHotObservations(env)
    action_space = env.action_space
    if isinstance(action_space, spaces.Discrete | spaces.MultiDiscrete) and np.any(
        action_space.start != 0
    ):
        env = ZeroBasedActions(env)
    return env


class HistoryWindow(gym.Wrapper, gym.utils.RecordConstructorArgs):
    """The last `length` observations as one: Box(length, *shape), the newest last.

    After a reset the window is zeros but for its last row, the first observation (a frame
    stack padded with zeros, not with copies of the first observation, so that the network sees
    where the episode began); each step shifts it by one. The bounds are the env's,
    repeated per row and widened to include 0 where they exclude the padding. Each call returns
    a new array: a vector env keeps the final observation of an episode while the reset of the
    same step refills the window.
    """

    def __init__(self, env: gym.Env, length: int) -> None:
        gym.utils.RecordConstructorArgs.__init__(self, length=length)
        super().__init__(env)
        space = env.observation_space
        if not isinstance(space, spaces.Box):
            raise RlboxError(f"a history window needs Box observations, got {space}")
        if length < 1:
            raise RlboxError(f"a history window needs length >= 1, got {length}")
        low = np.minimum(np.broadcast_to(space.low, space.shape), 0)
        high = np.maximum(np.broadcast_to(space.high, space.shape), 0)
        self.observation_space = spaces.Box(
            np.stack([low] * length), np.stack([high] * length), dtype=space.dtype
        )
        self._window = ObservationWindow(self.observation_space.shape, space.dtype)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        obs, info = self.env.reset(seed=seed, options=options)
        return self._window.start(obs), info

    def step(self, action):
        obs, reward, terminated, truncated, info = self.env.step(action)
        return self._window.push(obs), reward, terminated, truncated, info


class ObservationWindow:
    """The last K observations, newest last, zero padded after an episode's first: the one
    spelling of the window that HistoryWindow gives agents and `Policy.predict` keeps."""

    def __init__(self, shape: tuple[int, ...], dtype: np.dtype) -> None:
        self.rows = np.zeros(shape, dtype=dtype)

    def start(self, obs: np.ndarray) -> np.ndarray:
        """A new episode's window: zeros, then `obs`; a copy."""
        self.rows[:] = 0
        self.rows[-1] = obs
        return self.rows.copy()

    def push(self, obs: np.ndarray) -> np.ndarray:
        """The window shifted by one with `obs` newest; a copy."""
        self.rows[:-1] = self.rows[1:]
        self.rows[-1] = obs
        return self.rows.copy()


def with_history(env: gym.Env, length: int | None) -> gym.Env:
    """`env` seeing windows of its last `length` observations; `env` itself for 0 or None."""
    return HistoryWindow(env, length) if length else env


ADAPTERS = (OneHotObservations, ZeroBasedActions)


def adapters(env: gym.Env) -> list[gym.Wrapper]:
    """The wrappers `adapt_spaces` put on top of `env`, outermost first: what converts the raw
    env's observations for an agent (`observation`) and an agent's actions back (`action`).
    The env below the last one is the one a plain `gymnasium.make` gives."""
    found = []
    while isinstance(env, ADAPTERS):
        found.append(env)
        env = env.env
    return found
