"""Weight initialisation shared by every network an agent builds."""

from __future__ import annotations

from torch import nn


def orthogonal_(module: nn.Module, gain: float) -> None:
    """Orthogonal weights scaled by `gain` and zero biases for every linear and convolutional
    layer in `module` (Saxe et al., 2014; the initialisation of the PPO and A2C reference
    implementations)."""
    for layer in module.modules():
        if isinstance(layer, nn.Linear | nn.Conv1d | nn.Conv2d | nn.Conv3d):
            nn.init.orthogonal_(layer.weight, gain)
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
