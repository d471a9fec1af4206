"""Any Gymnasium environment as a `VectorEnv` of torch tensors.

Gymnasium steps on the host in numpy; this adapter is the one place where arrays cross to
torch, once per step for the whole batch. Each copy is `gymnasium.make(env_id, **options)`
through `wrappers.adapt_spaces` (and `wrappers.HistoryWindow` where `history` asks for one), as
the evaluation env is (`make_eval`), so agents train on the spaces and env options they are
evaluated on.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import partial
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import Tensor

from rlbox.envs.base import AUTORESET_MODE, EpisodeTracker, Step, observation_dtype
from rlbox.envs.wrappers import adapt_spaces, with_history


def make_training_copy(env_id: str, options: Mapping[str, Any], history: int = 0) -> gym.Env:
    """One copy as training sees it, the same env as `make_eval`'s."""
    return with_history(adapt_spaces(gym.make(env_id, **options)), history)


class GymnasiumVectorEnv:
    """`num_envs` Gymnasium copies stepped in turn on the host (a `SyncVectorEnv`), as torch
    tensors on `device`; `options` go to every copy's `gymnasium.make`. With `history` K > 0
    each copy's observations are windows of its last K (`wrappers.HistoryWindow`), the final
    observation of an episode too, since the window wraps each copy inside the vector env."""

    autoreset_mode = AUTORESET_MODE

    def __init__(
        self,
        env_id: str,
        num_envs: int,
        device: torch.device | str = "cpu",
        options: Mapping[str, Any] | None = None,
        history: int = 0,
    ) -> None:
        self.env_id = env_id
        self.num_envs = num_envs
        self.device = torch.device(device)
        self.options = dict(options or {})
        self.history = history
        self.env = gym.vector.SyncVectorEnv(
            [partial(make_training_copy, env_id, self.options, history)] * num_envs,
            autoreset_mode=self.autoreset_mode,
        )
        self.single_observation_space = self.env.single_observation_space
        self.single_action_space = self.env.single_action_space
        self._obs_dtype = observation_dtype(self.single_observation_space)
        self._action_dtype = self.single_action_space.dtype
        self._episodes = EpisodeTracker(num_envs, self.device)

    def reset(self, seed: int | None = None) -> Tensor:
        obs, _ = self.env.reset(seed=seed)
        if seed is not None:
            self.env.action_space.seed(seed)
        self._episodes.reset()
        return self._to_tensor(obs)

    def step(self, actions: Tensor) -> Step:
        actions_np = actions.detach().cpu().numpy().astype(self._action_dtype, copy=False)
        obs, reward, terminated, truncated, info = self.env.step(actions_np)
        obs_t = self._to_tensor(obs)
        final_obs = obs_t
        done = np.logical_or(terminated, truncated)
        if done.any():
            final_obs = obs_t.clone()
            for i in np.flatnonzero(done):
                final_obs[i] = torch.as_tensor(info["final_obs"][i], device=self.device)
        reward_t = torch.as_tensor(reward, dtype=torch.float32, device=self.device)
        done_t = torch.as_tensor(done, device=self.device)
        episode_return, episode_length = self._episodes.update(reward_t, done_t)
        return Step(
            obs=obs_t,
            reward=reward_t,
            terminated=torch.as_tensor(terminated, device=self.device),
            truncated=torch.as_tensor(truncated, device=self.device),
            done=done_t,
            final_obs=final_obs,
            episode_return=episode_return,
            episode_length=episode_length,
        )

    def close(self) -> None:
        self.env.close()

    def _to_tensor(self, obs: np.ndarray) -> Tensor:
        return torch.as_tensor(obs, dtype=self._obs_dtype, device=self.device)
