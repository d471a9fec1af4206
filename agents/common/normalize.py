"""Running normalisation of observations and rewards; its statistics live in checkpoints."""

from __future__ import annotations

import torch
from torch import Tensor


class RunningMeanStd:
    """Mean and variance over every sample seen, merged batch by batch (Chan et al., 1979).

    The count is a Python number: batch sizes are known on the host, so it never needs a tensor
    (and updating it costs no device work).
    """

    def __init__(self, shape: tuple[int, ...], device: torch.device) -> None:
        self.mean = torch.zeros(shape, dtype=torch.float64, device=device)
        self.var = torch.ones(shape, dtype=torch.float64, device=device)
        self.count = 1e-4
        self.std = torch.ones(shape, dtype=torch.float64, device=device)

    def update(self, x: Tensor) -> None:
        batch_var, batch_mean = torch.var_mean(x.double(), 0, correction=0)
        n = x.shape[0]
        total = self.count + n
        delta = batch_mean - self.mean
        self.mean = self.mean + delta * (n / total)
        # M2 = var * count + batch_var * n + delta^2 * count * n / total, then / total
        self.var = (self.var * (self.count / total)).add_(batch_var, alpha=n / total)
        self.var.add_(delta.square_(), alpha=self.count * n / total**2)
        self.count = total
        self.std = torch.sqrt(self.var + 1e-8)

    def state_dict(self) -> dict[str, Tensor | float]:
        return {"mean": self.mean, "var": self.var, "count": self.count}

    def load_state_dict(self, state: dict[str, Tensor | float]) -> None:
        device = self.mean.device
        self.mean, self.var = state["mean"].to(device), state["var"].to(device)
        self.count = float(state["count"])
        self.std = torch.sqrt(self.var + 1e-8)


class ObsNormalizer:
    """(obs - mean) / std, clipped; statistics update only while training."""

    def __init__(self, shape: tuple[int, ...], device: torch.device, clip: float = 10.0) -> None:
        self.rms = RunningMeanStd(shape, device)
        self.clip = clip

    def __call__(self, obs: Tensor, update: bool = False) -> Tensor:
        if update:
            self.rms.update(obs)
        normed = obs.to(torch.float64, copy=True).sub_(self.rms.mean).div_(self.rms.std)
        return normed.clamp_(-self.clip, self.clip).float()


class RewardNormalizer:
    """Scale rewards by the std of the discounted return (as in SB3's VecNormalize)."""

    def __init__(self, num_envs: int, gamma: float, device: torch.device, clip: float = 10.0):
        self.rms = RunningMeanStd((), device)
        self.returns = torch.zeros(num_envs, dtype=torch.float64, device=device)
        self.gamma = gamma
        self.clip = clip

    def state_dict(self) -> dict[str, Tensor | dict]:
        """The statistics and each copy's running discounted return."""
        return {"rms": self.rms.state_dict(), "returns": self.returns}

    def load_state_dict(self, state: dict) -> None:
        self.rms.load_state_dict(state["rms"])
        self.returns = state["returns"].to(self.returns.device, torch.float64)

    def __call__(self, reward: Tensor, done: Tensor) -> Tensor:
        self.returns.mul_(self.gamma).add_(reward)
        self.rms.update(self.returns)
        self.returns.masked_fill_(done, 0.0)
        return (reward / self.rms.std).clamp_(-self.clip, self.clip).float()
