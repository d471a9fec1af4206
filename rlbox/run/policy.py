"""A trained agent for plain Gymnasium loops: `rlbox.load(run_dir).predict(obs)`, as SB3's
`model.predict`, on the env's own observations and actions.

The agent acts on the spaces it trained on (rlbox.envs.wrappers: one-hot discrete observations,
actions counted from 0); `Policy` converts a raw observation of `gymnasium.make(env_id,
**env_options)` into those and the agent's actions back, through the evaluation env's own
adapters, so the same numbers reach the env as in `rlbox eval`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from gymnasium import spaces

from rlbox.agent import Agent
from rlbox.config.experiment import Experiment
from rlbox.envs import make_eval, observation_dtype
from rlbox.envs.wrappers import HistoryWindow, ObservationWindow, adapters
from rlbox.errors import RlboxError
from rlbox.run.build import load_agent, read_experiment, resolve_device
from rlbox.run.rundir import resolve_checkpoint


class Policy:
    """An agent restored from a checkpoint, with the raw spaces of its env.

    Observations and actions convert through the adapters of the evaluation env itself
    (`make_eval` with the run's env options), so `predict` hands the env what `rlbox eval` does.
    A run whose backbone reads windows of the last K observations (env option `history`) acts
    on one observation at a time: `Policy` keeps the window, as the env's HistoryWindow does;
    call `reset()` when a new episode starts.
    """

    def __init__(self, agent: Agent, experiment: Experiment, checkpoint_dir: Path) -> None:
        self.agent = agent
        self.experiment = experiment
        self.checkpoint_dir = checkpoint_dir
        self.device = resolve_device(experiment.run.device)
        env = make_eval(experiment.env_id, **experiment.env_options)
        env.close()  # the adapters' conversions need only the spaces, which outlive the env
        self._window: ObservationWindow | None = None
        self._episode_started = False
        inner = env
        if isinstance(env, HistoryWindow):
            space = env.observation_space
            self._window, inner = ObservationWindow(space.shape, space.dtype), env.env
        outermost_first = adapters(inner)
        raw = outermost_first[-1].env if outermost_first else inner
        self.observation_space, self.action_space = raw.observation_space, raw.action_space
        self._obs_dtype = observation_dtype(env.observation_space)
        # an observation passes the adapters from the raw env out, an action from the agent in
        self._obs_adapters = [
            a for a in outermost_first[::-1] if isinstance(a, gym.ObservationWrapper)
        ]
        self._action_adapters = [a for a in outermost_first if isinstance(a, gym.ActionWrapper)]

    def reset(self) -> None:
        """Start a new episode: the window of past observations (env option `history`) empties."""
        self._episode_started = False

    def predict(self, obs: Any, deterministic: bool = True) -> np.ndarray:
        """The action for one observation of the env, or a batch of actions for a batch."""
        batch, single = self._batch(obs)
        if self._window is not None:
            batch = self._advance_window(batch, single)
        with torch.no_grad():
            tensor = torch.as_tensor(batch, dtype=self._obs_dtype, device=self.device)
            actions = self.agent.act(tensor, deterministic).cpu().numpy()
        if self._action_adapters:
            actions = np.stack([_through(self._action_adapters, "action", a) for a in actions])
        return actions[0] if single else actions

    def _advance_window(self, batch: np.ndarray, single: bool) -> np.ndarray:
        """The window with `batch`'s one observation as its newest row (zeros before the first
        observation of an episode, as HistoryWindow pads)."""
        if not single:
            raise RlboxError(
                f"predict: this run reads windows of the last {self._window.rows.shape[0]} "
                "observations, so it takes one observation at a time (reset() between episodes)"
            )
        push = self._window.push if self._episode_started else self._window.start
        self._episode_started = True
        return push(batch[0])[None]

    def _batch(self, obs: Any) -> tuple[np.ndarray, bool]:
        space = self.observation_space
        obs = np.asarray(obs)
        single_ndim = 0 if isinstance(space, spaces.Discrete) else len(space.shape)
        if obs.ndim not in (single_ndim, single_ndim + 1):
            raise RlboxError(
                f"predict: an observation of {self.experiment.env_id} has shape {space.shape}, "
                f"got an array of shape {obs.shape}"
            )
        single = obs.ndim == single_ndim
        rows = obs[None] if single else obs
        if self._obs_adapters:
            rows = np.stack([_through(self._obs_adapters, "observation", row) for row in rows])
        return rows, single


def _through(wrappers: list[gym.Wrapper], method: str, value: Any) -> Any:
    """`value` converted by each wrapper's `observation` or `action` method in turn."""
    for wrapper in wrappers:
        value = getattr(wrapper, method)(value)
    return value


def load(run_dir: str | Path, checkpoint: str | Path = "best") -> Policy:
    """The agent of a run directory, restored from a checkpoint: "best" (the default), "last",
    step-N or a checkpoint directory."""
    run_dir = Path(run_dir)
    experiment = read_experiment(run_dir)
    used = resolve_checkpoint(run_dir, checkpoint)
    return Policy(load_agent(experiment, used), experiment, used)
