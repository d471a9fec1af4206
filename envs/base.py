"""The vector-environment contract every rollout in rlbox speaks: torch tensors on one device."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import gymnasium as gym
import numpy as np
import torch
from gymnasium.vector import AutoresetMode
from torch import Tensor

AUTORESET_MODE = AutoresetMode.SAME_STEP
"""The one autoreset mode rlbox's rollouts and buffers are written for; see `Step`."""


def observation_dtype(space: gym.Space) -> torch.dtype:
    """The dtype of the observation tensors a `VectorEnv` gives for `space`: the space's own
    (uint8 frames stay uint8), but float32 for float64, which networks do not compute in."""
    dtype = torch.from_numpy(np.empty(0, dtype=space.dtype)).dtype
    return torch.float32 if dtype == torch.float64 else dtype


@dataclass
class Step:
    """What one step of N environment copies returns. All tensors have leading dimension N.

    Finished copies are reset in the same step (`AUTORESET_MODE`, Gymnasium's "same-step"
    autoreset): `obs` holds the first observation of the next episode there, and `final_obs`
    the observation the step actually led to, which is what a value target must bootstrap from
    after a truncation. `terminated` (the MDP ended) and `truncated` (a time limit cut it) are
    kept apart; both are true where the limit falls on a terminal step.
    """

    obs: Tensor
    reward: Tensor
    terminated: Tensor
    truncated: Tensor
    done: Tensor  # terminated | truncated
    final_obs: Tensor
    episode_return: Tensor
    episode_length: Tensor
    # Where a scored episode ended, when that is not where `done` is: Atari with episodic life
    # ends a learning episode at each lost life, and scores whole games. None: at `done`.
    scored_end: Tensor | None = None

    @property
    def episode_end(self) -> Tensor:
        """Where `episode_return` and `episode_length` are those of an episode that ended."""
        return self.done if self.scored_end is None else self.scored_end


class VectorEnv(Protocol):
    """N copies of an env stepped as one batch of torch tensors on `device`.

    Optionally, `state_dict() -> dict[str, Tensor | int | float]` and `load_state_dict(state)`
    save and restore everything the next steps depend on, for an exact resume; the torch-native
    envs have them. The Gymnasium adapter has none, so a resume on Gymnasium envs restarts the
    episodes in progress with new seeds.
    """

    env_id: str
    num_envs: int
    device: torch.device
    autoreset_mode: AutoresetMode  # AUTORESET_MODE: tests/test_autoreset.py checks every backend
    single_observation_space: gym.Space
    single_action_space: gym.Space

    def reset(self, seed: int | None = None) -> Tensor: ...

    def step(self, actions: Tensor) -> Step: ...

    def close(self) -> None: ...


class EpisodeTracker:
    """Running return and length of each copy, reported when its episode ends."""

    def __init__(self, num_envs: int, device: torch.device) -> None:
        self.returns = torch.zeros(num_envs, dtype=torch.float64, device=device)
        self.lengths = torch.zeros(num_envs, dtype=torch.int64, device=device)

    def reset(self) -> None:
        self.returns.zero_()
        self.lengths.zero_()

    def update(self, reward: Tensor, done: Tensor) -> tuple[Tensor, Tensor]:
        """Add this step's reward; return (episode return, length), then zero finished copies."""
        returns = self.returns + reward
        lengths = self.lengths + 1
        self.returns = returns.masked_fill(done, 0.0)
        self.lengths = lengths.masked_fill(done, 0)
        return returns, lengths
