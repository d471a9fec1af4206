"""Any Gymnasium environment as a `VectorEnv` of torch tensors.

Gymnasium steps on the host in numpy; this adapter is the one place where arrays cross to
torch, once per step for the whole batch. Each copy goes through `adapt_spaces`, as the
evaluation env does, so agents train on the spaces they are evaluated on.
"""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import torch
from gymnasium.vector import AutoresetMode
from torch import Tensor

from rlbox.envs.base import EpisodeTracker, Step
from rlbox.envs.wrappers import adapt_spaces


class GymnasiumVectorEnv:
    def __init__(self, env_id: str, num_envs: int, device: torch.device | str = "cpu") -> None:
        self.env_id = env_id
        self.num_envs = num_envs
        self.device = torch.device(device)
        self.env = gym.make_vec(
            env_id,
            num_envs=num_envs,
            vectorization_mode="sync",
            vector_kwargs={"autoreset_mode": AutoresetMode.SAME_STEP},
            wrappers=[adapt_spaces],
        )
        self.single_observation_space = self.env.single_observation_space
        self.single_action_space = self.env.single_action_space
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
        tensor = torch.as_tensor(obs, device=self.device)
        if tensor.dtype == torch.float64:
            tensor = tensor.float()
        return tensor
