"""Experiment tracking with Weights & Biases (`--track wandb`, as CleanRL's `--track`).

The CLI turns tracking on for its process and every run it starts (grid processes and Ray tasks
inherit it) through environment variables: RLBOX_TRACK=wandb, and W&B's own WANDB_PROJECT
(default "rlbox") and WANDB_RUN_GROUP (a grid's or a study's folder name, so that its runs share
a group); WANDB_MODE=offline keeps everything on this machine (`wandb sync` uploads it later).
Each run sends its config, every metrics row (the names TensorBoard gets) and its evaluation
videos, under a W&B run id fixed by its run directory, so that a resumed run continues its W&B
run. A comparison sends its summary table and curves as one more run of the group.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

from rlbox.errors import RlboxError

TRACK_ENV = "RLBOX_TRACK"
TRACKERS = ("none", "wandb")


def import_wandb() -> Any:
    try:
        import wandb
    except ImportError:
        raise RlboxError("--track wandb needs W&B: pip install -e '.[wandb]'") from None
    return wandb


def enable(track: str, group: str | None = None) -> None:
    """Turn tracking on for this process and the runs it starts (`track`: none or wandb)."""
    if track not in TRACKERS:
        raise RlboxError(f"unknown tracker {track!r}; known: {', '.join(TRACKERS)}")
    if track == "none":
        return
    import_wandb()
    os.environ[TRACK_ENV] = track
    os.environ.setdefault("WANDB_PROJECT", "rlbox")
    if group:
        os.environ["WANDB_RUN_GROUP"] = group


def tracked_environment() -> dict[str, str]:
    """The variables that carry tracking to a run started elsewhere (a Ray task on a node)."""
    return {k: v for k, v in os.environ.items() if k == TRACK_ENV or k.startswith("WANDB_")}


def is_enabled() -> bool:
    return os.environ.get(TRACK_ENV) == "wandb"


def _run_id(run_dir: Path) -> str:
    return hashlib.sha1(str(run_dir.resolve()).encode()).hexdigest()[:16]


class Tracker:
    """One run's W&B run: config at the start, then metrics rows, videos and the result."""

    def __init__(self, run_dir: Path, config: dict[str, Any]) -> None:
        wandb = import_wandb()
        self.wandb = wandb
        self.run = wandb.init(
            name=run_dir.name, id=_run_id(run_dir), resume="allow", dir=str(run_dir),
            config=config, job_type="train", settings=wandb.Settings(silent=True),
        )  # fmt: skip

    def log(self, row: dict[str, Any], tags: dict[str, str]) -> None:
        values = {tags[k]: v for k, v in row.items() if k in tags and isinstance(v, int | float)}
        self.run.log(values, step=int(row["step"]))

    def video(self, path: Path, step: int) -> None:
        self.run.log({"eval/video": self.wandb.Video(str(path), format="mp4")}, step=step)

    def finish(self, result: dict[str, Any]) -> None:
        self.run.summary.update({f"final/{k}": v for k, v in result.items() if k != "run_dir"})
        self.run.finish()


def track_comparison(out: Path, rows: list[dict[str, Any]], curves: Path) -> None:
    """The comparison's summary table and curves, as a run of the grid's group."""
    wandb = import_wandb()
    run = wandb.init(
        name=f"{out.name}-summary", job_type="comparison", dir=str(out),
        settings=wandb.Settings(silent=True),
    )  # fmt: skip
    columns = sorted({k for row in rows for k in row})
    table = wandb.Table(columns=columns, data=[[row.get(c) for c in columns] for row in rows])
    run.log({"summary": table, "curves": wandb.Image(str(curves))})
    run.finish()
