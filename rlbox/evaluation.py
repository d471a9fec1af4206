"""Evaluation on the reference environment, the same way for every agent.

Each of K episodes runs in its own copy of `gymnasium.make(env_id)`, seeded `seed + i`, all
stepped together so the agent acts on one batch per step. Counting the first episode of every
copy (rather than the first K episodes to finish) avoids the bias towards short episodes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import gymnasium as gym
import numpy as np
import torch
from torch import Tensor

from rlbox.envs import make_reference


@dataclass(frozen=True)
class EvalResult:
    returns: np.ndarray
    lengths: np.ndarray

    @property
    def mean(self) -> float:
        return float(np.mean(self.returns))

    @property
    def std(self) -> float:
        return float(np.std(self.returns))


def evaluate(
    act: Callable[[Tensor], Tensor],
    env_id: str,
    episodes: int,
    seed: int,
    device: torch.device | str = "cpu",
) -> EvalResult:
    """Play `episodes` episodes with `act` (a batch of observations -> a batch of actions)."""
    envs = gym.vector.SyncVectorEnv([partial(make_reference, env_id)] * episodes)
    try:
        obs, _ = envs.reset(seed=[seed + i for i in range(episodes)])
        returns = np.zeros(episodes)
        lengths = np.zeros(episodes, dtype=np.int64)
        running = np.ones(episodes, dtype=bool)
        with torch.no_grad():
            while running.any():
                obs_t = torch.as_tensor(obs, device=device)
                if obs_t.dtype == torch.float64:
                    obs_t = obs_t.float()
                actions = act(obs_t).cpu().numpy()
                obs, reward, terminated, truncated, _ = envs.step(actions)
                returns += reward * running
                lengths += running
                running &= ~(terminated | truncated)
    finally:
        envs.close()
    return EvalResult(returns, lengths)
