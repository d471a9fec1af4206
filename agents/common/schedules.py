"""Schedules: a hyper-parameter as a function of the environment step.

Every schedule runs over the run's schedule horizon (`RunConfig.schedule_horizon`: by default
the budget the run was created with). Past the horizon a schedule holds its final value, so a
resume to a larger budget continues each schedule where it stopped instead of rescaling it.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Linear:
    """`start` at step 0, linearly to `end` at step `steps`, then `end`.

    `steps <= 0` is `end` from the start (e.g. an exploration fraction of 0).
    """

    start: float
    end: float
    steps: float

    def __call__(self, step: int) -> float:
        if self.steps <= 0:
            return self.end
        return self.start + (self.end - self.start) * min(1.0, step / self.steps)


def decay(kind: str, value: float, horizon: int) -> Linear:
    """A config's `*_schedule: constant | linear`: `value` held, or decayed to 0 over `horizon`."""
    if kind not in ("constant", "linear"):
        raise ValueError(f"unknown schedule {kind!r}")
    return Linear(value, 0.0 if kind == "linear" else value, horizon)
