"""A trained agent for plain Gymnasium loops: `rlbox.load(run_dir).predict(obs)`, as SB3's
`model.predict`, on the env's own observations and actions.

The agent acts on the spaces it trained on (rlbox.envs.wrappers: one-hot discrete observations,
actions counted from 0); `Policy` converts a raw observation of `gymnasium.make(env_id)` into
those and the agent's actions back, so the same numbers reach the env as in `rlbox eval`.
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
from rlbox.errors import RlboxError
from rlbox.run.build import load_agent, read_experiment, resolve_device
from rlbox.run.rundir import resolve_checkpoint


class Policy:
    """An agent restored from a checkpoint, with the raw spaces of its env."""

    def __init__(self, agent: Agent, experiment: Experiment, checkpoint_dir: Path) -> None:
        self.agent = agent
        self.experiment = experiment
        self.checkpoint_dir = checkpoint_dir
        self.device = resolve_device(experiment.run.device)
        env = gym.make(experiment.env_id)
        self.observation_space, self.action_space = env.observation_space, env.action_space
        env.close()

    def predict(self, obs: Any, deterministic: bool = True) -> np.ndarray:
        """The action for one observation of the env, or a batch of actions for a batch."""
        batch, single = self._batch(obs)
        with torch.no_grad():
            actions = self.agent.act(torch.as_tensor(batch, device=self.device), deterministic)
        actions = actions.cpu().numpy()
        if isinstance(self.action_space, spaces.Discrete | spaces.MultiDiscrete):
            actions = actions + self.action_space.start
        return actions[0] if single else actions

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
        if isinstance(space, spaces.Box):
            batch = rows.astype(np.float32) if rows.dtype == np.float64 else rows
        else:  # as envs.wrappers.OneHotObservations
            batch = np.stack([spaces.flatten(space, row) for row in rows]).astype(np.float32)
        return batch, single


def load(run_dir: str | Path, checkpoint: str | Path = "best") -> Policy:
    """The agent of a run directory, restored from a checkpoint: "best" (the default), "last",
    step-N or a checkpoint directory."""
    run_dir = Path(run_dir)
    experiment = read_experiment(run_dir)
    used = resolve_checkpoint(run_dir, checkpoint)
    return Policy(load_agent(experiment, used), experiment, used)
