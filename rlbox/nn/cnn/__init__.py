"""Convolutional backbones for image observations: channel-first [C, H, W] (a frame stack is
its channels), uint8 pixels scaled to [0, 1] on the device, inside the network."""

from __future__ import annotations

from gymnasium import spaces


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
