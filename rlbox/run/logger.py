"""Where a run's numbers go: metrics.csv (rewritten atomically), TensorBoard events and, when
tracking is on, Weights & Biases (rlbox.run.tracking)."""

from __future__ import annotations

import csv
import io
import math
import os
import time
from pathlib import Path
from typing import Any

from rlbox.compat import tensorboard_without_tensorflow

# Columns that depend on the machine's speed; everything else is reproducible from the seed.
WALL_CLOCK_COLUMNS = ("time", "sps")
FIRST_COLUMNS = ("step", "time", "sps", "eval_return_mean", "eval_return_std", "eval_length_mean")


def write_atomic(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


class MetricsLog:
    """One row per chunk of training; the whole file is rewritten so it is never half-written.

    Rewriting costs time in proportion to the rows so far, so it happens at evaluations, when
    asked (before a checkpoint) and otherwise at most every `write_every` seconds: a crash loses
    at most those last rows, which a resume drops anyway (it keeps rows up to its checkpoint).
    """

    def __init__(
        self,
        run_dir: Path,
        tensorboard: bool = True,
        write_every: float = 5.0,
        purge_step: int | None = None,
        tracker: Any = None,
    ) -> None:
        """`purge_step`: TensorBoard hides events at and after this step written before (what
        a killed run logged after the checkpoint it resumes from). `tracker`: a
        tracking.Tracker that gets every new row too."""
        self.path = run_dir / "metrics.csv"
        self.tracker = tracker
        self.rows: list[dict[str, Any]] = []
        self.write_every = write_every
        self._written_at = -math.inf
        self.writer = None
        if tensorboard:
            tensorboard_without_tensorflow()
            from torch.utils.tensorboard import SummaryWriter

            self.writer = SummaryWriter(log_dir=str(run_dir), purge_step=purge_step)

    def load(self, up_to_step: int) -> None:
        """Read back an existing metrics.csv, keeping rows up to a checkpoint's step."""
        if not self.path.is_file():
            return
        with self.path.open(newline="") as f:
            for row in csv.DictReader(f):
                parsed = {k: _parse(v) for k, v in row.items() if v != ""}
                if parsed.get("step", math.inf) <= up_to_step:
                    self.rows.append(parsed)
        self._write()

    def log(self, row: dict[str, Any], flush: bool = False) -> None:
        self.rows.append(row)
        if self.writer is not None:
            step = int(row["step"])
            for key, value in row.items():
                if key != "step" and isinstance(value, int | float):
                    self.writer.add_scalar(_tag(key), value, step)
        if self.tracker is not None:
            self.tracker.log(row, {key: _tag(key) for key in row if key != "step"})
        flush = flush or "eval_return_mean" in row
        if flush or time.monotonic() - self._written_at >= self.write_every:
            self._write()
        if flush and self.writer is not None:
            self.writer.flush()

    def close(self) -> None:
        self._write()
        if self.writer is not None:
            self.writer.close()

    def _write(self) -> None:
        columns = [c for c in FIRST_COLUMNS if any(c in r for r in self.rows)]
        columns += sorted({k for r in self.rows for k in r} - set(columns))
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row in self.rows:
            writer.writerow({k: _format(v) for k, v in row.items()})
        write_atomic(self.path, out.getvalue())
        self._written_at = time.monotonic()


def _tag(key: str) -> str:
    if key.startswith("eval_"):
        return "eval/" + key.removeprefix("eval_")
    if key in WALL_CLOCK_COLUMNS:
        return "time/" + key
    return "train/" + key


def _format(value: Any) -> Any:
    return repr(value) if isinstance(value, float) else value


def _parse(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        try:
            return float(text)
        except ValueError:
            return text
