"""Backbones over sequences: windows of the last K observations (envs' HistoryWindow) and images
as patch sequences."""

from __future__ import annotations

from gymnasium import spaces

WINDOW_HELP = "Observations per window, given to the env's HistoryWindow."


def window_refusal(observation_space: spaces.Space) -> str | None:
    """Why a backbone over windows cannot read `observation_space` (None: it can): it needs a
    Box(K, ...) whose first axis is time, as `HistoryWindow` gives (the rest is flattened)."""
    if not isinstance(observation_space, spaces.Box) or len(observation_space.shape) < 2:
        return (
            "it reads windows Box(K, D) of the last K observations: train with env option history=K"
        )
    return None
