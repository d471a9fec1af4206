"""Data augmentation of image observations on training batches (never when acting).

Random shift (Kostrikov et al., 2020, "Image Augmentation Is All You Need", DrQ; Laskin et al.,
2020, RAD): pad each image by `pad` pixels on every side, repeating its border pixels, and
crop it back to its size at a random offset, one offset per image of the batch:

    out[b, c, i, j] = obs[b, c, clamp(i + dy_b - pad), clamp(j + dx_b - pad)],
    dy_b, dx_b ~ U{0, ..., 2 pad}

Clamped indices are the replicate padding, so frames stay in their dtype (uint8) and nothing
is allocated but the output.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from gymnasium import spaces
from torch import Tensor

from rlbox.errors import ConfigError


def random_shift(obs: Tensor, generator: torch.Generator, pad: int = 4) -> Tensor:
    """`obs` [B, C, H, W] with each image shifted by up to `pad` pixels in each direction."""
    batch, channels, height, width = obs.shape
    offsets = torch.randint(
        0, 2 * pad + 1, (2, batch), generator=generator, device=generator.device
    ).to(obs.device)
    device = obs.device
    rows = (torch.arange(height, device=device) + offsets[0, :, None] - pad).clamp(0, height - 1)
    cols = (torch.arange(width, device=device) + offsets[1, :, None] - pad).clamp(0, width - 1)
    b = torch.arange(batch, device=device)[:, None, None, None]
    c = torch.arange(channels, device=device)[None, :, None, None]
    return obs[b, c, rows[:, None, :, None], cols[:, None, None, :]]


def make_augmentation(
    name: str, observation_space: spaces.Space, generator: torch.Generator
) -> Callable[[Tensor], Tensor]:
    """The augmentation `name` of batches of `observation_space` ("none": unchanged), drawing
    from `generator`; a one-line error where the space holds no images."""
    if name == "none":
        return lambda obs: obs
    shape = getattr(observation_space, "shape", None) or ()
    if len(shape) != 3:
        raise ConfigError(
            f"augment={name} shifts images, Box(C, H, W); the observations have shape {shape}"
        )
    return lambda obs: random_shift(obs, generator)
