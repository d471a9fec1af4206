"""`rlbox run` and `rlbox compare`: grids of runs and their comparison report."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from rlbox.cli.app import app
from rlbox.errors import RlboxError

Launcher = Annotated[
    str, typer.Option(help="local (a process per run) or ray (a Ray task per run).")
]
Address = Annotated[
    str | None,
    typer.Option(help="Ray cluster address (default: start Ray on this machine)."),
]
CpusPerRun = Annotated[float, typer.Option(help="Ray: CPUs each run asks for.")]
GpusPerRun = Annotated[float, typer.Option(help="Ray: GPUs each run asks for (fractions too).")]
Retries = Annotated[
    int, typer.Option(help="Ray: retries of a failed or lost run, from its last checkpoint.")
]
Track = Annotated[
    str, typer.Option(help="none, or wandb: every run and the summary to W&B, one group.")
]


@app.command("run")
def run_(
    experiment: Annotated[Path, typer.Argument(help="An experiment file (YAML); see rlbox.grid.")],
    jobs: Annotated[
        int | None,
        typer.Option(help="Runs at a time (default: the file's, or the number of cores)."),
    ] = None,
    launcher: Launcher = "local",
    address: Address = None,
    cpus_per_run: CpusPerRun = 1.0,
    gpus_per_run: GpusPerRun = 0.0,
    retries: Retries = 3,
    track: Track = "none",
) -> None:
    """Run an experiment file's grid of agents x envs x seeds, then write its report."""
    from rlbox.grid.spec import load_grid, make_grid

    launch = _launcher(launcher, address, cpus_per_run, gpus_per_run, retries)
    grid = load_grid(experiment)
    _track(track, grid)
    if jobs is not None:
        grid = make_grid(grid.agents, grid.envs, grid.seeds, grid.out, grid.steps, jobs,
                         grid.overrides)  # fmt: skip
    _run_and_compare(grid, launch)


@app.command()
def compare(
    agents: Annotated[list[str], typer.Argument(help="Agents to compare, e.g. dqn sb3-dqn.")],
    env: Annotated[list[str], typer.Option(help="Env id (repeat for several).")],
    seeds: Annotated[int, typer.Option(help="Seeds 0..N-1 for every agent.")] = 5,
    steps: Annotated[
        int | None, typer.Option(help="Budget for every agent (default: tuned).")
    ] = None,
    jobs: Annotated[
        int | None, typer.Option(help="Runs at a time (default: the number of cores).")
    ] = None,
    backbone: Annotated[
        str | None,
        typer.Option(help="The same perception backbone for every agent (`rlbox list`)."),
    ] = None,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Config key for every agent: --set eval_every=5000."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Folder of the comparison (default: runs/compare-...).")
    ] = None,
    launcher: Launcher = "local",
    address: Address = None,
    cpus_per_run: CpusPerRun = 1.0,
    gpus_per_run: GpusPerRun = 0.0,
    retries: Retries = 3,
    track: Track = "none",
) -> None:
    """Train AGENTS on the same envs, seeds and budget, then report IQM, CIs and curves."""
    from rlbox.config.experiment import parse_overrides
    from rlbox.grid.spec import make_grid

    launch = _launcher(launcher, address, cpus_per_run, gpus_per_run, retries)
    if seeds < 1:
        raise RlboxError(f"--seeds must be positive, got {seeds}")
    if out is None:
        budget = f"-{steps}" if steps else ""
        out = Path("runs") / f"compare-{'-'.join(env)}-{'-'.join(agents)}{budget}".replace("/", "_")
    overrides = parse_overrides(set_ or [])
    if backbone is not None:
        overrides["backbone"] = backbone
    grid = make_grid(agents, env, list(range(seeds)), out, steps, jobs, overrides)
    _track(track, grid)
    _run_and_compare(grid, launch)


def _track(track: str, grid) -> None:
    """Tracking for the grid's runs, grouped under its folder's name."""
    from rlbox.run import tracking

    tracking.enable(track, group=grid.out.name)


def _launcher(
    name: str, address: str | None, cpus_per_run: float, gpus_per_run: float, retries: int
) -> Callable[..., list]:
    """run_grid of the launcher asked for, its options checked before anything runs."""
    from functools import partial

    if name == "local":
        ray_only = {"--address": address, "--gpus-per-run": gpus_per_run or None}
        given = [flag for flag, value in ray_only.items() if value is not None]
        if given:
            raise RlboxError(f"{given[0]} goes with --launcher ray")
        from rlbox.grid.local import run_grid

        return run_grid
    if name == "ray":
        from rlbox.grid.ray_launcher import RayOptions, import_ray, run_grid_on_ray

        options = RayOptions(address, cpus_per_run, gpus_per_run, retries)
        import_ray()
        return partial(run_grid_on_ray, options=options)
    raise RlboxError(f"unknown launcher {name!r}; known: local, ray")


def _run_and_compare(grid, launch: Callable[..., list]) -> None:
    from rich.console import Console

    from rlbox.grid.local import compare_grid
    from rlbox.report.tables import summary_table

    outcomes = launch(grid, echo=lambda line: print(line, flush=True))
    failed = [o for o in outcomes if o.status == "failed"]
    result = compare_grid(grid)
    Console().print(summary_table(result))
    from rlbox.run import tracking

    if tracking.is_enabled():
        rows = [dataclasses.asdict(row) for row in result.rows]
        tracking.track_comparison(grid.out, rows, result.curves)
    typer.echo(f"wrote {result.results}, {result.summary}, {result.curves}")
    if failed:
        names = ", ".join(o.run.name for o in failed)
        typer.echo(
            f"{len(failed)} of {len(outcomes)} runs failed: {names}; run again to finish them",
            err=True,
        )
        raise typer.Exit(1)
