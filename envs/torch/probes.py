"""Torch-native twins of the probe envs of envs/probes.py."""

from __future__ import annotations

import numpy as np
import torch
from gymnasium import spaces
from torch import Tensor

from rlbox.envs.torch.base import TorchVectorEnv


class _Probe(TorchVectorEnv):
    """The probe envs of envs/probes.py: the state is the observation, -1, 0 or 1."""

    state_dim = 1
    max_episode_steps = 10  # as registered (a safety net: every probe but Truncated-v0 ends first)
    random_start = False  # start at -1 or +1 (else 0)
    single_observation_space = spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)
    single_action_space: spaces.Space = spaces.Discrete(1)

    def initial_state(self, n: int) -> Tensor:
        if not self.random_start:
            return torch.zeros(1, n, device=self.device, dtype=self.dtype)
        return torch.where(self.uniform(n, 0.0, 1.0) < 0.5, -1.0, 1.0).to(self.dtype)

    def dynamics(self, actions: Tensor) -> tuple[Tensor, Tensor]:
        obs = self.state[0]
        reward, terminated = self.outcome(obs, actions.reshape(self.num_envs))
        return reward.to(self.dtype), terminated

    def outcome(self, obs: Tensor, actions: Tensor) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    def observe(self) -> Tensor:
        return self.state.T.to(torch.float32, copy=True)


class ConstantReward(_Probe):
    env_id = "rlbox/ConstantReward-v0"

    def outcome(self, obs: Tensor, actions: Tensor) -> tuple[Tensor, Tensor]:
        return torch.ones_like(obs), torch.ones_like(obs, dtype=torch.bool)


class ObsReward(_Probe):
    env_id = "rlbox/ObsReward-v0"
    random_start = True

    def outcome(self, obs: Tensor, actions: Tensor) -> tuple[Tensor, Tensor]:
        return obs.clone(), torch.ones_like(obs, dtype=torch.bool)


class TwoStep(_Probe):
    env_id = "rlbox/TwoStep-v0"

    def outcome(self, obs: Tensor, actions: Tensor) -> tuple[Tensor, Tensor]:
        second = obs == 1.0
        self.state[0] = 1.0
        return second.to(self.dtype), second


class ActionReward(_Probe):
    env_id = "rlbox/ActionReward-v0"
    single_action_space = spaces.Discrete(2)

    def outcome(self, obs: Tensor, actions: Tensor) -> tuple[Tensor, Tensor]:
        return torch.where(actions == 1, 1.0, -1.0), torch.ones_like(obs, dtype=torch.bool)


class ActionObsReward(_Probe):
    env_id = "rlbox/ActionObsReward-v0"
    random_start = True
    single_action_space = spaces.Discrete(2)

    def outcome(self, obs: Tensor, actions: Tensor) -> tuple[Tensor, Tensor]:
        matches = (actions == 1) == (obs > 0)
        return torch.where(matches, 1.0, -1.0), torch.ones_like(obs, dtype=torch.bool)


class Truncated(_Probe):
    env_id = "rlbox/Truncated-v0"
    max_episode_steps = 5

    def outcome(self, obs: Tensor, actions: Tensor) -> tuple[Tensor, Tensor]:
        return torch.ones_like(obs), torch.zeros_like(obs, dtype=torch.bool)


class TargetAction(_Probe):
    env_id = "rlbox/TargetAction-v0"
    random_start = True
    single_action_space = spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)

    def outcome(self, obs: Tensor, actions: Tensor) -> tuple[Tensor, Tensor]:
        reward = -(actions.to(self.dtype) - obs / 2).square()
        return reward, torch.ones_like(obs, dtype=torch.bool)
