"""The one spelling of a run directory: its file names, its creation, and finding its checkpoints.

<run>/config.yaml   the resolved experiment (Experiment.to_dict())
<run>/metrics.csv   one row per chunk of training (run.logger)
<run>/result.json   the final evaluation, written when the budget is reached
<run>/checkpoints/  step-N/ (the newest few) and best/ (run.checkpoint)
<run>/videos/       step-N.mp4 of recorded evaluations
"""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import datetime
from pathlib import Path

import yaml

from rlbox.config.experiment import Experiment
from rlbox.errors import CheckpointError, RlboxError
from rlbox.run import checkpoint

CONFIG_FILE = "config.yaml"
BEST = "best"  # checkpoints/best/: the checkpoint with the highest evaluation return so far
RESULT_FILE = "result.json"


def run_name_of(agent: str, env_id: str, seed: int) -> str:
    return f"{agent}-{env_id.replace('/', '_')}-s{seed}"


def create_run_dir(out: Path, experiment: Experiment, name: str | None = None) -> Path:
    """out/<agent>-<env>-s<seed>-<time>/ (or out/<name>/) with its config.yaml, created in one
    rename; a given `name` that exists already is an error."""
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    base = (
        name or f"{run_name_of(experiment.agent, experiment.env_id, experiment.run.seed)}-{stamp}"
    )
    tmp = Path(tempfile.mkdtemp(prefix=f".{base}-", dir=out))
    (tmp / CONFIG_FILE).write_text(yaml.safe_dump(experiment.to_dict(), sort_keys=False))
    if name is not None:
        try:
            os.rename(tmp, out / name)
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
            raise RlboxError(f"run directory {out / name} exists already") from None
        return out / name
    for suffix in range(1000):
        run_dir = out / (base if suffix == 0 else f"{base}-{suffix}")
        try:
            os.rename(tmp, run_dir)  # fails if run_dir exists and is not empty
            return run_dir
        except OSError:
            continue
    raise RlboxError(f"could not create a run directory under {out}")


def resolve_checkpoint(run_dir: Path, which: str | Path | None = None) -> Path:
    """A run's checkpoint: "last" (the default: the newest step-N), "best", a name in the run's
    checkpoints/ (step-N), or a directory."""
    directory = run_dir / "checkpoints"
    if which is None or str(which) == "last":
        saved = checkpoint.list_checkpoints(directory)
        if not saved:
            raise CheckpointError(f"{run_dir} has no checkpoint")
        return saved[-1]
    if str(which) == BEST:
        if not (directory / BEST).is_dir():
            hint = (
                "; a save was interrupted: `rlbox train --resume` repairs it"
                if any(directory.glob(f".{BEST}.*"))
                else ""
            )
            raise CheckpointError(f"{run_dir} has no best checkpoint ({directory / BEST}){hint}")
        return directory / BEST
    path = Path(which)
    if not path.is_dir() and (directory / path).is_dir():  # a name in checkpoints/: step-N
        path = directory / path
    if not path.is_dir():
        raise CheckpointError(
            f"checkpoint not found: {path} (use best, last, step-N or a directory)"
        )
    return path
