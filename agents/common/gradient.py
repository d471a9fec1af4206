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
    """Zero the gradients, backpropagate `loss` into `parameters` only, clip their global
    gradient norm to `max_grad_norm` (Pascanu et al., 2013; every reference DQN, A2C and PPO
    does; 0: no clipping, as SAC and TD3) and step.

    Only into `parameters`: autograd then skips the weight gradients of every other network the
    loss passes through (an actor's loss through its critic computes no critic gradients).
    """
    optimizer.zero_grad(set_to_none=True)
    loss.backward(inputs=[p for p in parameters if p.requires_grad])
    if max_grad_norm > 0:
        torch.nn.utils.clip_grad_norm_(parameters, max_grad_norm, foreach=True)
    optimizer.step()
