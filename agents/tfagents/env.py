"""Gymnasium environments as TF-Agents `PyEnvironment`s, for the `tfa-*` agents.

TF-Agents 0.19 wraps only the old `gym` API, so rlbox brings its own small adapter. The mapping
keeps Gymnasium's two ways an episode ends apart, as TF-Agents' time steps can:

| Gymnasium step            | TF-Agents time step                  |
|---------------------------|--------------------------------------|
| reset                     | FIRST, reward 0, discount 1          |
| terminated                | LAST, discount 0 (no value after it) |
| truncated (time limit)    | LAST, discount 1, the last observation, so a target can bootstrap |
| otherwise                 | MID, discount 1                      |

After a LAST step, the next `step` resets (TF-Agents' auto-reset) and ignores its action. The
adapter counts the environment steps it takes and the returns of the episodes that end, so that
an agent can report both without a TF metric.

Importing this module imports TensorFlow; `configure_tensorflow` runs first and keeps
TensorFlow's log lines out of the terminal unless RLBOX_VERBOSE is set (`rlbox train --verbose`).
"""

from __future__ import annotations

import contextlib
import os
import sys
import warnings
from collections.abc import Iterator, Mapping
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from rlbox.envs.gymnasium_vector import make_training_copy
from rlbox.envs.wrappers import adapt_spaces


def configure_tensorflow() -> None:
    """Environment variables TensorFlow reads at import: tf-keras (Keras 2) for TF-Agents, and
    its C++ logging off unless RLBOX_VERBOSE. A value the user set already is kept."""
    os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
    if not verbose():
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def verbose() -> bool:
    return os.environ.get("RLBOX_VERBOSE", "") not in ("", "0")


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Send file descriptor 2 to /dev/null: TensorFlow's C++ runtime prints a few lines (oneDNN,
    absl) before any log level applies. A Python error still propagates and is printed later."""
    if verbose():
        yield
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            yield
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


configure_tensorflow()
with quiet_stderr():
    import tensorflow as tf
    from tf_agents.environments import batched_py_environment, py_environment
    from tf_agents.specs import array_spec
    from tf_agents.trajectories import time_step as ts


def _show_tensorflow_to_tensorboard() -> None:
    """`tf.summary` is TensorBoard's code and needs the real TensorFlow, but rlbox.run.logger may
    have pointed TensorBoard at its stub (when TensorFlow was not imported yet): undo that."""
    sys.modules.pop("tensorboard.compat.notf", None)
    compat = sys.modules.get("tensorboard.compat")
    if compat is not None:
        compat.tf.__dict__.update(tf.__dict__)  # a LazyModule: resolved or not, now TF


_show_tensorflow_to_tensorboard()
if not verbose():
    tf.get_logger().setLevel("ERROR")
    # TF-Agents and TF warn through the warnings module about deprecated calls they make
    # themselves; nothing a user of rlbox can act on.
    for module in ("tensorflow", "tf_agents", "tf_keras", "tensorflow_probability", "gym"):
        warnings.filterwarnings("ignore", module=module)
    # autograph compiles TF-Agents' `state is ()` into code that Python warns about
    warnings.filterwarnings("ignore", message='"is( not)?" with', category=SyntaxWarning)


def space_to_spec(space: gym.Space, name: str) -> array_spec.ArraySpec:
    """A Discrete space as a scalar int64 spec from 0; a Box as a float32 bounded spec."""
    if isinstance(space, spaces.Discrete):
        return array_spec.BoundedArraySpec((), np.int64, 0, int(space.n) - 1, name=name)
    if isinstance(space, spaces.Box):
        return array_spec.BoundedArraySpec(
            space.shape, np.float32, space.low.astype(np.float32),
            space.high.astype(np.float32), name=name,
        )  # fmt: skip
    raise TypeError(f"TF-Agents adapter: unsupported {name} space {space}")


class GymnasiumPyEnvironment(py_environment.PyEnvironment):
    """One Gymnasium env as a TF-Agents PyEnvironment (see the module docstring), in the spaces
    rlbox's own agents see (`adapt_spaces`): one-hot discrete observations, actions from 0."""

    def __init__(self, env: gym.Env, seed: int | None = None) -> None:
        super().__init__(handle_auto_reset=True)
        self.env = adapt_spaces(env)
        self._observation_spec = space_to_spec(self.env.observation_space, "observation")
        self._action_spec = space_to_spec(self.env.action_space, "action")
        self._seed = seed
        self.steps = 0  # environment steps taken, resets excluded
        self.finished: list[tuple[float, int]] = []  # (return, length) of ended episodes
        self._return, self._length = 0.0, 0

    def observation_spec(self) -> array_spec.ArraySpec:
        return self._observation_spec

    def action_spec(self) -> array_spec.ArraySpec:
        return self._action_spec

    def seed(self, seed: int | None) -> None:
        """Seed the next reset (Gymnasium seeds at reset, not before)."""
        self._seed = seed

    def _reset(self) -> ts.TimeStep:
        obs, _ = self.env.reset(seed=self._seed)
        if self._seed is not None:
            self.env.action_space.seed(self._seed)
        self._seed = None
        self._return, self._length = 0.0, 0
        return ts.restart(self._observation(obs))

    def _step(self, action: np.ndarray) -> ts.TimeStep:
        obs, reward, terminated, truncated, _ = self.env.step(self._action(action))
        self.steps += 1
        self._return += float(reward)
        self._length += 1
        obs, reward = self._observation(obs), np.float32(reward)
        if terminated or truncated:
            self.finished.append((self._return, self._length))
        if terminated:
            return ts.termination(obs, reward)
        if truncated:
            return ts.truncation(obs, reward, discount=np.float32(1.0))
        return ts.transition(obs, reward, discount=np.float32(1.0))

    def _observation(self, obs: Any) -> np.ndarray:
        return np.asarray(obs, dtype=self._observation_spec.dtype)

    def _action(self, action: np.ndarray) -> Any:
        space = self.env.action_space
        if isinstance(space, spaces.Discrete):
            return int(action)
        # Gaussian policies can step outside the bounds; the env sees the clipped action.
        return np.clip(np.asarray(action, dtype=space.dtype).reshape(space.shape),
                       space.low, space.high)  # fmt: skip

    def close(self) -> None:
        self.env.close()


class BatchedGymnasium:
    """`num_envs` copies of `env_id` as rlbox's own agents train on them (`make_training_copy`:
    the run's env options, the same spaces), stepped in turn as one batched PyEnvironment.

    Copy i is seeded `seed + i` at its first reset, as `gymnasium.make_vec` seeds its copies.
    """

    def __init__(
        self,
        env_id: str,
        num_envs: int,
        seed: int,
        options: Mapping[str, Any] | None = None,
        history: int = 0,
    ) -> None:
        # The training pipeline of rlbox's own agents, with the run's env options and window.
        self.copies = [
            GymnasiumPyEnvironment(make_training_copy(env_id, options or {}, history))
            for _ in range(num_envs)
        ]
        self.env = batched_py_environment.BatchedPyEnvironment(self.copies, multithreading=False)
        self.reseed(seed)

    def reseed(self, seed: int) -> None:
        for i, copy in enumerate(self.copies):
            copy.seed(seed + i)

    @property
    def steps(self) -> int:
        return sum(copy.steps for copy in self.copies)

    def take_finished(self) -> list[tuple[float, int]]:
        """Episodes that ended since the last call, in no particular order."""
        out = [episode for copy in self.copies for episode in copy.finished]
        for copy in self.copies:
            copy.finished.clear()
        return out

    def close(self) -> None:
        for copy in self.copies:
            copy.close()
