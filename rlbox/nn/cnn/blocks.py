"""Pieces the image backbones share: the pixel scale, a dry run that sizes a layer, option
checks, and the normalisation layer of the residual and dense networks."""

from __future__ import annotations

import math
import typing
from typing import Literal

import torch
from gymnasium import spaces
from torch import nn

from rlbox.errors import check

Norm = Literal["batch", "group", "none"]
NORMS = typing.get_args(Norm)
NORM_HELP = (
    "Normalisation after each convolution: 'group' (up to 8 groups; the same function for one "
    "observation or a batch, in training or eval mode), 'batch' (the paper's; needs "
    "batches, and .eval() to act), or 'none'."
)


def pixel_scale(observation_space: spaces.Space) -> float:
    """What a backbone multiplies its input by: 1/255 where the space holds bytes, so pixels
    are scaled on the device inside the network; float images pass as they are."""
    return 1.0 / 255.0 if observation_space.dtype == "uint8" else 1.0


def dry_run(module: nn.Module, shape: tuple[int, ...]) -> torch.Size:
    """The output shape of `module` for one input of `shape`, run in eval mode so that batch
    norm neither needs a batch nor updates its running statistics."""
    training = module.training
    module.eval()
    with torch.no_grad():
        out = module(torch.zeros(1, *shape))
    module.train(training)
    return out.shape


def check_positive(name: str, *values: int | float) -> None:
    check(
        bool(values) and all(v > 0 for v in values), name, f"must be positive, got {list(values)}"
    )


def norm_layer(kind: Norm, channels: int) -> nn.Module:
    """Batch norm (Ioffe & Szegedy, 2015), group norm (Wu & He, 2018) over at most 8 groups
    (as many as divide `channels`), or nothing."""
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "group":
        return nn.GroupNorm(math.gcd(8, channels), channels)
    return nn.Identity()


def check_batch_norm(kind: Norm, final_shape: torch.Size) -> None:
    """Batch norm in training mode needs more than one value per channel: with a 1 x 1 last
    map, one observation (make_backbone's sizing pass, acting on one env) has one."""
    size = f"{final_shape[-2]}x{final_shape[-1]}"
    check(
        kind != "batch" or final_shape[-1] * final_shape[-2] > 1,
        "norm",
        f"'batch' needs a last feature map larger than 1x1, these images give {size}; "
        "use 'group' or 'none'",
    )


def relu_init_(module: nn.Module) -> None:
    """He initialisation (He et al., 2015, "Delving deep into rectifiers", Section 2.2) of every
    convolution and linear layer in `module`, with zero biases: weights of variance 2 / fan_in
    keep the signal's scale through ReLU layers. PyTorch's default (variance 1 / (3 fan_in))
    shrinks it by about 2.4x a layer, and NiN and GoogLeNet, without normalisation and nine or
    more layers deep, were slow to start: 25% and 77% test accuracy after 15 epochs on the
    digits of experiments/bench_digits.py (constant learning rate), 98% and 96% with He's."""
    for layer in module.modules():
        if isinstance(layer, nn.Conv2d | nn.Linear):
            nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
            if layer.bias is not None:
                nn.init.zeros_(layer.bias)
