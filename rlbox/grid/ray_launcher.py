"""The Ray launcher: a grid's runs as Ray tasks, on this machine or on a Ray cluster.

Each run is one task that asks for `cpus_per_run` CPUs and `gpus_per_run` GPUs (fractions
allowed) and runs in a fresh worker process (`max_calls=1`, as the local launcher's fresh
process), which does what the local launcher's child does: train the run into `out/<name>/`,
its output in `out/logs/<name>.log`. Ray retries a task whose worker died (a killed process, a
lost node) or raised, up to `retries` times; the retry resumes from the run's last checkpoint.
A run that still fails is reported while the others go on, and running the grid again runs
only what is missing (`plan`). `out` must be storage that every node sees.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from rlbox.errors import RlboxError
from rlbox.grid.local import Outcome, finished, log_path, plan, run_child
from rlbox.grid.spec import Grid, RunSpec
from rlbox.run.tracking import tracked_environment


@dataclass(frozen=True)
class RayOptions:
    address: str | None = None  # None: start Ray on this machine with the grid's jobs as CPUs
    cpus_per_run: float = 1.0
    gpus_per_run: float = 0.0
    retries: int = 3

    def __post_init__(self) -> None:
        if self.cpus_per_run <= 0:
            raise RlboxError(f"--cpus-per-run must be positive, got {self.cpus_per_run}")
        if self.gpus_per_run < 0:
            raise RlboxError(f"--gpus-per-run must be >= 0, got {self.gpus_per_run}")
        if self.retries < 0:
            raise RlboxError(f"--retries must be >= 0, got {self.retries}")


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise RlboxError(
            "--launcher ray needs Ray: pip install -e '.[ray]' (or pip install ray)"
        ) from None
    return ray


def ray_environment() -> dict[str, Any]:
    """Task options that carry `--track` to tasks on every node (none when it is off)."""
    variables = tracked_environment()
    return {"runtime_env": {"env_vars": variables}} if variables else {}


def start_local_ray(ray: Any, cpus: int) -> None:
    """Ray on this machine with `cpus` CPUs, its workers at the normal scheduling priority: Ray
    starts them at niceness 15, which left each run a third slower than the local launcher's
    next to any other busy process."""
    os.environ.setdefault("RAY_worker_niceness", "0")
    ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)


def run_task(run: RunSpec, out: str, log: str) -> None:
    """What each task runs, in its own worker process; its pid in out/logs/<name>.pid."""
    pid_file = f"{log.removesuffix('.log')}.pid"
    with open(pid_file, "w") as f:
        f.write(str(os.getpid()))
    run_child(run, out, log)


def run_grid_on_ray(grid: Grid, options: RayOptions, *, echo: Any = print) -> list[Outcome]:
    """Run every run of the grid not finished yet as a Ray task."""
    ray = import_ray()
    outcomes, pending = plan(grid, echo)
    if not pending:
        return outcomes
    started_here = not ray.is_initialized()
    if started_here:
        if options.address:
            ray.init(address=options.address, log_to_driver=False)
        else:
            start_local_ray(ray, cpus=max(1, round(grid.jobs * options.cpus_per_run)))
    try:
        # max_calls=1: a fresh process per run, no state carried from one run to the next
        task = ray.remote(max_calls=1)(run_task).options(
            num_cpus=options.cpus_per_run,
            num_gpus=options.gpus_per_run,
            max_retries=options.retries,
            retry_exceptions=True,
            **ray_environment(),
        )
        refs = {}
        for run in pending:
            refs[task.remote(run, str(grid.out), str(log_path(grid, run)))] = run
            echo(f"submitted {run.name}")
        while refs:
            ready, _ = ray.wait(list(refs), num_returns=1)
            for ref in ready:
                run = refs.pop(ref)
                try:
                    ray.get(ref)
                    outcome = finished(grid, run, 0)
                except ray.exceptions.RayError as error:
                    reason = str(error).strip().splitlines()[0][:200]
                    retried = f"after {options.retries} retries"
                    outcome = Outcome(
                        run, "failed", f"{reason} ({retried}); see {log_path(grid, run)}"
                    )
                (grid.out / "logs" / f"{run.name}.pid").unlink(missing_ok=True)
                outcomes.append(outcome)
                echo(f"{outcome.status} {run.name}: {outcome.detail}")
    finally:
        if started_here:
            ray.shutdown()
    return outcomes
