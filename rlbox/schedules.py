"""Schedules of a hyper-parameter over training progress."""

from __future__ import annotations


def linear(start: float, end: float, fraction: float, progress: float) -> float:
    """Go linearly from `start` to `end` over the first `fraction` of training, then hold.

    `progress` is the fraction of the budget done, in [0, 1].
    """
    if fraction <= 0.0:
        return end
    return start + (end - start) * min(1.0, progress / fraction)
