"""Perception backbones and the heads agents put on them.

A backbone maps observations to a flat feature vector and exposes `features_dim`; heads map
features to what an algorithm needs (Q-values here). Agents receive backbone instances, so any
agent can use any backbone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor, nn


class MLP(nn.Module):
    """Flatten, then Linear + activation for each hidden size."""

    def __init__(
        self,
        obs_shape: Sequence[int],
        hidden_sizes: Sequence[int],
        activation: type[nn.Module] = nn.ReLU,
    ) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Flatten()]
        in_dim = math.prod(obs_shape)
        for size in hidden_sizes:
            layers += [nn.Linear(in_dim, size), activation()]
            in_dim = size
        self.net = nn.Sequential(*layers)
        self.features_dim = in_dim

    def forward(self, obs: Tensor) -> Tensor:
        return self.net(obs.float())


class QHead(nn.Module):
    """Q(s, ·) from features; with `dueling`, Q = V + A - mean(A) (Wang et al., 2016, eq. 9)."""

    def __init__(self, features_dim: int, n_actions: int, dueling: bool = False) -> None:
        super().__init__()
        self.dueling = dueling
        self.advantage = nn.Linear(features_dim, n_actions)
        self.value = nn.Linear(features_dim, 1) if dueling else None

    def forward(self, features: Tensor) -> Tensor:
        advantage = self.advantage(features)
        if self.value is None:
            return advantage
        return self.value(features) + advantage - advantage.mean(dim=-1, keepdim=True)


class QNetwork(nn.Module):
    def __init__(self, backbone: nn.Module, n_actions: int, dueling: bool = False) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = QHead(backbone.features_dim, n_actions, dueling)

    def forward(self, obs: Tensor) -> Tensor:
        return self.head(self.backbone(obs))


@torch.no_grad()
def soft_update(target: nn.Module, source: nn.Module, tau: float) -> None:
    """target <- (1 - tau) * target + tau * source, for every parameter."""
    target_params = list(target.parameters())
    source_params = list(source.parameters())
    if tau >= 1.0:
        torch._foreach_copy_(target_params, source_params)
    else:
        torch._foreach_lerp_(target_params, source_params, tau)
