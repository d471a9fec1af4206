"""Running normalisation of observations and rewards; its statistics live in checkpoints."""

from __future__ import annotations

import torch
from torch import Tensor


class RunningMeanStd:
    """Mean and variance over every sample seen, merged batch by batch (Chan et al., 1979)."""

    def __init__(self, shape: tuple[int, ...], device: torch.device) -> None:
        self.mean = torch.zeros(shape, dtype=torch.float64, device=device)
        self.var = torch.ones(shape, dtype=torch.float64, device=device)
        self.count = torch.full((), 1e-4, dtype=torch.float64, device=device)
        self.std = torch.ones(shape, dtype=torch.float64, device=device)

    def update(self, x: Tensor) -> None:
        batch_var, batch_mean = torch.var_mean(x.double(), 0, correction=0)
        n = x.shape[0]
        delta = batch_mean - self.mean
        total = self.count + n
        self.mean = self.mean + delta * (n / total)
        m2 = self.var * self.count + batch_var * n + delta.square() * (self.count * n / total)
        self.var = m2 / total
        self.count = total
        self.std = torch.sqrt(self.var + 1e-8)

    def state_dict(self) -> dict[str, Tensor]:
        return {"mean": self.mean, "var": self.var, "count": self.count}

    def load_state_dict(self, state: dict[str, Tensor]) -> None:
        device = self.mean.device
        self.mean, self.var = state["mean"].to(device), state["var"].to(device)
        self.count = state["count"].to(device)
        self.std = torch.sqrt(self.var + 1e-8)


class ObsNormalizer:
    """(obs - mean) / std, clipped; statistics update only while training."""

    def __init__(self, shape: tuple[int, ...], device: torch.device, clip: float = 10.0) -> None:
        self.rms = RunningMeanStd(shape, device)
        self.clip = clip

    def __call__(self, obs: Tensor, update: bool = False) -> Tensor:
        if update:
            self.rms.update(obs)
        normed = (obs.double() - self.rms.mean) / self.rms.std
        return normed.clamp(-self.clip, self.clip).float()


class RewardNormalizer:
    """Scale rewards by the std of the discounted return (as in SB3's VecNormalize)."""

    def __init__(self, num_envs: int, gamma: float, device: torch.device, clip: float = 10.0):
        self.rms = RunningMeanStd((), device)
        self.returns = torch.zeros(num_envs, dtype=torch.float64, device=device)
        self.gamma = gamma
        self.clip = clip

    def __call__(self, reward: Tensor, done: Tensor) -> Tensor:
        self.returns = self.returns * self.gamma + reward
        self.rms.update(self.returns)
        self.returns = self.returns.masked_fill(done, 0.0)
        return (reward / self.rms.std).clamp(-self.clip, self.clip).float()
