"""Convolutional backbones for image observations: channel-first [C, H, W] (a frame stack is
its channels), uint8 pixels scaled to [0, 1] on the device, inside the network."""

from __future__ import annotations

import torch
from gymnasium import spaces
from torch import Tensor


def image_refusal(observation_space: spaces.Space, least: int) -> str | None:
    """Why a CNN cannot read `observation_space` (None: it can): it needs a channel-first
    image Box of at least `least` x `least` pixels."""
    if not isinstance(observation_space, spaces.Box) or len(observation_space.shape) != 3:
        return "it reads channel-first images, Box(C, H, W)"
    _, height, width = observation_space.shape
    if min(height, width) < least:
        return f"it needs images of at least {least}x{least} pixels"
    return None


def is_image(observation_space: spaces.Space) -> bool:
    """Whether a space holds images (what the default backbone is chosen by): a 3-dimensional
    uint8 Box, as Atari frames stacks are."""
    return (
        isinstance(observation_space, spaces.Box)
        and len(observation_space.shape) == 3
        and observation_space.dtype == "uint8"
    )


def pixels(obs: Tensor, scale: float) -> Tensor:
    """An observation batch as the float input of a CNN: uint8 pixels scaled to [0, 1] (`scale`
    1/255; float images pass with 1.0), in channels-last memory order, which oneDNN's CPU
    convolutions run about 1.3x faster on than channel-first (one PPO minibatch of the Nature
    CNN at batch 256: experiments/bench_atari.py); the values and shapes are unchanged."""
    # reordered while still bytes, then converted and scaled in place: one pass over the floats
    x = obs.contiguous(memory_format=torch.channels_last).float()
    return x.mul_(scale) if scale != 1.0 else x
