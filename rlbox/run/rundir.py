"""The one spelling of a run directory: its file names, its creation, and finding its checkpoints.

<run>/config.yaml   the resolved experiment (Experiment.to_dict())
<run>/metrics.csv   one row per chunk of training (run.logger)
<run>/result.json   the final evaluation, written when the budget is reached
<run>/checkpoints/  step-N/ (the newest few) and best/ (run.checkpoint)
<run>/videos/       step-N.mp4 of recorded evaluations

The readers below are how reports and grids see a run: a missing or unreadable file is one
RlboxError naming it.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from datetime import datetime
from io import StringIO
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import yaml

from rlbox.config.experiment import Experiment, identity
from rlbox.errors import CheckpointError, RlboxError
from rlbox.run.logger import write_atomic as write_atomic  # re-exported for the reports

if TYPE_CHECKING:
    import pandas as pd

T = TypeVar("T")
CONFIG_FILE = "config.yaml"
METRICS_FILE = "metrics.csv"  # written by run.logger
RESULT_FILE = "result.json"
CHECKPOINTS_DIR = "checkpoints"
VIDEOS_DIR = "videos"
BEST = "best"  # checkpoints/best/: the checkpoint with the highest evaluation return so far
METRICS_COLUMNS = ("step", "time")  # what every metrics.csv has
EVAL_COLUMNS = ("eval_return_mean", "eval_return_std")  # absent until the first evaluation


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
    from rlbox.run import checkpoint  # torch: kept out of the grid's and the reports' imports

    directory = run_dir / CHECKPOINTS_DIR
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


def is_run_dir(path: Path) -> bool:
    return (path / CONFIG_FILE).is_file()


def run_dirs_in(path: Path) -> list[Path]:
    """The run directories directly under `path`, sorted by name."""
    if not path.is_dir():
        return []
    return sorted(p for p in path.iterdir() if is_run_dir(p))


def read_file(run_dir: Path, name: str, parse: Callable[[str], T]) -> T:
    """parse(text of run_dir/name), with any failure a one-line RlboxError naming the file."""
    path = run_dir / name
    if not path.is_file():
        raise RlboxError(f"{path} is missing")
    try:
        return parse(path.read_text())
    except (OSError, ValueError, KeyError, TypeError, yaml.YAMLError) as error:
        raise RlboxError(f"{path} is unreadable: {error!r}") from None


def read_config(run_dir: Path) -> dict[str, Any]:
    """The run's config.yaml, checked to name its agent, env and run.seed."""
    return read_file(run_dir, CONFIG_FILE, _parse_config)


def read_identity(run_dir: Path) -> dict[str, Any]:
    """What makes the run what it is: `config.experiment.identity` of its config.yaml."""
    return read_file(run_dir, CONFIG_FILE, lambda text: identity(_parse_config(text)))


def read_result(run_dir: Path) -> dict[str, Any] | None:
    """The run's result.json (None while the run is unfinished), its numbers checked."""
    if not (run_dir / RESULT_FILE).is_file():
        return None
    return read_file(run_dir, RESULT_FILE, _parse_result)


def read_metrics(run_dir: Path) -> pd.DataFrame:
    """The run's metrics.csv, one row per chunk of training; eval_* is NaN where none ran."""
    import pandas as pd  # only reports read metrics back: the runner does without pandas

    return read_file(
        run_dir, METRICS_FILE, lambda text: _check_metrics(pd.read_csv(StringIO(text)))
    )


def checkpoint_infos(run_dir: Path) -> list[tuple[Path, dict[str, Any]]]:
    """Each checkpoint of the run (step-N oldest first, then best) with its info, each loaded
    whole, so that a missing or corrupt file raises CheckpointError naming it."""
    from rlbox.run import checkpoint

    directory = run_dir / CHECKPOINTS_DIR
    directories = checkpoint.list_checkpoints(directory)
    if (directory / BEST).is_dir():
        directories.append(directory / BEST)
    return [(d, checkpoint.load(d)[1]) for d in directories]


def videos(run_dir: Path) -> list[tuple[int, Path]]:
    """The recorded evaluations, (step, videos/step-N.mp4), by step."""
    return sorted(
        (int(p.stem.removeprefix("step-")), p)
        for p in (run_dir / VIDEOS_DIR).glob("step-*.mp4")
        if p.stem.removeprefix("step-").isdigit()
    )


def _parse_config(text: str) -> dict[str, Any]:
    config = yaml.safe_load(text)
    for key in ("agent", "env"):
        config[key] = str(config[key])
    config["run"]["seed"] = int(config["run"]["seed"])
    return config


def _parse_result(text: str) -> dict[str, Any]:
    result = json.loads(text)
    for key in ("eval_return_mean", "eval_return_std", "train_seconds"):
        result[key] = float(result[key])
    result["env_steps"] = int(result["env_steps"])
    return result


def _check_metrics(metrics: pd.DataFrame) -> pd.DataFrame:
    for column in METRICS_COLUMNS:
        if column not in metrics:
            raise ValueError(f"no {column} column")
    for column in EVAL_COLUMNS:  # a run not evaluated yet (Atari: every 250k steps)
        if column not in metrics:
            metrics[column] = float("nan")
    return metrics
