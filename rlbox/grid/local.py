"""The local launcher: a grid's runs in processes on this machine, `grid.jobs` at a time, each
with its output in out/logs/. A run that fails or is killed is reported and the others go on."""

from __future__ import annotations

import multiprocessing as mp
import os
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rlbox.errors import RlboxError
from rlbox.grid.spec import Grid, RunSpec
from rlbox.run import rundir


@dataclass
class Outcome:
    run: RunSpec
    status: str  # "done", "skipped" (finished before) or "failed"
    detail: str = ""


def plan(grid: Grid, echo: Any = print) -> tuple[list[Outcome], list[RunSpec]]:
    """What is left to run: (outcomes already known, runs to start). A finished run is skipped;
    a run directory made with other values fails the run (nothing there is touched). Every
    launcher starts from this, so running a grid again runs only what is missing."""
    (grid.out / "logs").mkdir(parents=True, exist_ok=True)
    outcomes: list[Outcome] = []
    pending: list[RunSpec] = []
    runs = grid.runs()
    for run in runs:
        run_dir = grid.out / run.name
        differences = run.differences(run_dir) if rundir.is_run_dir(run_dir) else ""
        if differences:
            detail = (f"{run_dir} holds a run made with other values ({differences}); "
                      "move it away or choose another --out")  # fmt: skip
            outcomes.append(Outcome(run, "failed", detail))
            echo(f"failed {run.name}: {detail}")
        elif _final_result(run_dir, run):
            outcomes.append(Outcome(run, "skipped", "finished before"))
        else:
            pending.append(run)
    skipped = sum(o.status == "skipped" for o in outcomes)
    if skipped:
        echo(f"{skipped} of {len(runs)} runs finished before; skipping them")
    return outcomes, pending


def finished(grid: Grid, run: RunSpec, exit_code: int | None) -> Outcome:
    """A started run's outcome: done if it exited cleanly with its final result."""
    if exit_code == 0 and (done := _final_result(grid.out / run.name, run)):
        return Outcome(run, "done", _result_line(done))
    why = f"exit code {exit_code}" if exit_code else "no result"
    return Outcome(run, "failed", f"{why}; see {log_path(grid, run)}")


def log_path(grid: Grid, run: RunSpec) -> Path:
    return grid.out / "logs" / f"{run.name}.log"


def run_grid(grid: Grid, *, echo: Any = print) -> list[Outcome]:
    """Run every run of the grid not finished yet, `grid.jobs` processes at a time."""
    outcomes, pending = plan(grid, echo)
    logs = grid.out / "logs"
    context = mp.get_context("spawn")
    active: dict[str, tuple[RunSpec, Any]] = {}
    while pending or active:
        while pending and len(active) < grid.jobs:
            run = pending.pop(0)
            log = log_path(grid, run)
            process = context.Process(
                target=run_child, args=(run, str(grid.out), str(log)), name=run.name
            )
            process.start()
            (logs / f"{run.name}.pid").write_text(str(process.pid))
            active[run.name] = (run, process)
            echo(f"started {run.name} (pid {process.pid})")
        time.sleep(0.1)
        for name, (run, process) in list(active.items()):
            if process.is_alive():
                continue
            process.join()
            del active[name]
            (logs / f"{name}.pid").unlink(missing_ok=True)
            outcome = finished(grid, run, process.exitcode)
            outcomes.append(outcome)
            echo(f"{outcome.status} {name}: {outcome.detail}")
    return outcomes


def _final_result(run_dir: Path, run: RunSpec) -> dict[str, Any] | None:
    """The run's result.json if it reached the budget asked for; None if it is to be run."""
    try:
        done = rundir.read_result(run_dir)
    except RlboxError:  # an unreadable result: run it again
        return None
    return done if done is not None and done["env_steps"] >= run.experiment.run.steps else None


def _result_line(done: dict[str, Any]) -> str:
    return (
        f"final eval {done['eval_return_mean']:.2f} after {done['env_steps']} steps "
        f"({done['train_seconds']:.1f} s)"
    )


def run_child(run: RunSpec, out: str, log: str) -> None:
    """One run in a fresh process, its output appended to `log`: resumed from its last
    checkpoint when it has one (a retry, or a grid run again), else started anew."""
    with open(log, "a") as stream:
        os.dup2(stream.fileno(), sys.stdout.fileno())
        os.dup2(stream.fileno(), sys.stderr.fileno())
        from rlbox.run import checkpoint
        from rlbox.run.runner import resume, train

        run_dir = Path(out) / run.name
        if run_dir.is_dir() and checkpoint.list_checkpoints(run_dir / "checkpoints"):
            print(f"resuming {run_dir}", flush=True)
            resume(run_dir, steps=run.values.get("steps"))
            return
        if run_dir.exists():  # interrupted before its first checkpoint: start again
            shutil.rmtree(run_dir)
        train(run.agent, run.env_id, overrides=run.values, out=out, run_name=run.name)


def compare_grid(grid: Grid) -> Any:
    """Write results.csv, summary.md and curves.png into `grid.out` for the grid's runs and the
    other runs there of its agents and envs (made with other values: the report tells them
    apart by the values that differ)."""
    from rlbox.report.tables import write_comparison

    names = {run.name for run in grid.runs()}
    dirs = [grid.out / name for name in sorted(names) if (grid.out / name).is_dir()]
    if not dirs:
        raise RlboxError(f"no run of the grid has a run directory under {grid.out}")
    for path in sorted(grid.out.iterdir()):
        if (
            path.name not in names
            and (path / rundir.RESULT_FILE).is_file()
            and _of_grid(path, grid)
        ):
            dirs.append(path)
    return write_comparison(grid.out, dirs)


def _of_grid(run_dir: Path, grid: Grid) -> bool:
    try:
        config = rundir.read_config(run_dir)
    except RlboxError:
        return False
    return config["agent"] in grid.agents and config["env"] in grid.envs
