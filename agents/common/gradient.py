"""One gradient step, the same for every hand-written agent.

This is the one place where what happens between a loss and the parameter update lives, so
that what changes it later changes it for every agent at once: mixed precision (an AMP grad
scaler around `backward` and `step`) and data-parallel training (an all-reduce of the gradients
before clipping) go here, not into the algorithm files.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


def gradient_step(
    loss: Tensor,
    optimizer: torch.optim.Optimizer,
    parameters: Sequence[Tensor],
    max_grad_norm: float,
) -> None:
    """Zero the gradients, backpropagate `loss`, clip the global gradient norm to
    `max_grad_norm` (Pascanu et al., 2013; every reference DQN, A2C and PPO does) and step."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(parameters, max_grad_norm, foreach=True)
    optimizer.step()
