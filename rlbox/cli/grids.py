"""`rlbox run` and `rlbox compare`: grids of runs and their comparison report."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rlbox.cli.app import app
from rlbox.errors import RlboxError


@app.command("run")
def run_(
    experiment: Annotated[Path, typer.Argument(help="An experiment file (YAML); see rlbox.grid.")],
    jobs: Annotated[
        int | None,
        typer.Option(help="Runs at a time (default: the file's, or the number of cores)."),
    ] = None,
) -> None:
    """Run an experiment file's grid of agents x envs x seeds, then write its report."""
    from rlbox.grid.spec import load_grid, make_grid

    grid = load_grid(experiment)
    if jobs is not None:
        grid = make_grid(grid.agents, grid.envs, grid.seeds, grid.out, grid.steps, jobs,
                         grid.overrides)  # fmt: skip
    _run_and_compare(grid)


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
) -> None:
    """Train AGENTS on the same envs, seeds and budget, then report IQM, CIs and curves."""
    from rlbox.config.experiment import parse_overrides
    from rlbox.grid.spec import make_grid

    if seeds < 1:
        raise RlboxError(f"--seeds must be positive, got {seeds}")
    if out is None:
        budget = f"-{steps}" if steps else ""
        out = Path("runs") / f"compare-{'-'.join(env)}-{'-'.join(agents)}{budget}".replace("/", "_")
    overrides = parse_overrides(set_ or [])
    if backbone is not None:
        overrides["backbone"] = backbone
    grid = make_grid(agents, env, list(range(seeds)), out, steps, jobs, overrides)
    _run_and_compare(grid)


def _run_and_compare(grid) -> None:
    from rich.console import Console

    from rlbox.grid.local import compare_grid, run_grid
    from rlbox.report.tables import summary_table

    outcomes = run_grid(grid, echo=lambda line: print(line, flush=True))
    failed = [o for o in outcomes if o.status == "failed"]
    result = compare_grid(grid)
    Console().print(summary_table(result))
    typer.echo(f"wrote {result.results}, {result.summary}, {result.curves}")
    if failed:
        names = ", ".join(o.run.name for o in failed)
        typer.echo(
            f"{len(failed)} of {len(outcomes)} runs failed: {names}; run again to finish them",
            err=True,
        )
        raise typer.Exit(1)
