"""The `rlbox` command line. Bad input is one line on stderr and exit code 2, never a traceback."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from typer.exceptions import Abort, TyperException

from rlbox.errors import RlboxError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    help="rlbox: train, evaluate and compare reinforcement-learning agents.",
)


@app.command()
def train(
    agent: Annotated[str | None, typer.Argument(help="Agent name; see `rlbox list`.")] = None,
    env: Annotated[str | None, typer.Argument(help="Gymnasium env id, e.g. CartPole-v1.")] = None,
    steps: Annotated[int | None, typer.Option(help="Environment steps (budget).")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed.")] = None,
    device: Annotated[str | None, typer.Option(help="cpu, cuda or auto.")] = None,
    num_envs: Annotated[int | None, typer.Option(help="Vectorized env copies.")] = None,
    backend: Annotated[
        str | None, typer.Option(help="gymnasium (default) or torch (torch-native envs).")
    ] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Override a config key: --set lr=5e-4.")
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder for run directories.")] = Path("runs"),
    resume: Annotated[
        Path | None, typer.Option(help="Continue this run directory to its budget.")
    ] = None,
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
    video: Annotated[
        bool, typer.Option(help="Record an evaluation episode to videos/ (see video_every).")
    ] = False,
    verbose: Annotated[
        bool, typer.Option(help="Show TensorFlow's log lines (tfa-* agents hide them).")
    ] = False,
) -> None:
    """Train AGENT on ENV; writes runs/<agent>-<env>-s<seed>-<time>/."""
    import os

    from rlbox import runner
    from rlbox.config import parse_overrides

    if verbose:
        os.environ["RLBOX_VERBOSE"] = "1"  # read by rlbox.envs.tfagents_env

    if resume is not None:
        given = (agent, env, set_, video, backend, device)
        if any(given) or seed is not None or num_envs is not None:
            raise RlboxError("--resume takes the run's own config; only --steps may change it")
        result = runner.resume(resume, steps=steps, progress=not quiet)
    else:
        if agent is None or env is None:
            raise RlboxError("train needs AGENT and ENV (or --resume RUN_DIR)")
        result = runner.train(
            agent,
            env,
            steps=steps,
            seed=seed,
            device=device,
            num_envs=num_envs,
            overrides={
                **parse_overrides(set_ or []),
                **({"video": True} if video else {}),
                **({"backend": backend} if backend else {}),
            },
            out=out,
            progress=not quiet,
        )
    typer.echo(
        f"final eval return {result.eval_return_mean:.2f} ± {result.eval_return_std:.2f} "
        f"after {result.env_steps} steps ({result.train_seconds:.1f} s training)"
        f" -> {result.run_dir}"
    )


@app.command("eval")
def eval_(
    run_dir: Annotated[Path, typer.Argument(help="A run directory.")],
    episodes: Annotated[int, typer.Option(help="Episodes to play.")] = 20,
    checkpoint: Annotated[
        str, typer.Option(help="best, last (the newest) or a checkpoint directory.")
    ] = "last",
    seed: Annotated[
        int | None,
        typer.Option(help="Seed of episode 0 (then +1, ...); default: the final evaluation's."),
    ] = None,
) -> None:
    """Evaluate a run's checkpoint on the evaluation env, deterministically."""
    from rlbox.runner import evaluate_run

    if episodes < 1:
        raise RlboxError(f"--episodes must be positive, got {episodes}")
    if seed is not None and seed < 0:
        raise RlboxError(f"--seed must be >= 0, got {seed}")
    result, used = evaluate_run(run_dir, episodes=episodes, checkpoint_dir=checkpoint, seed=seed)
    _echo_episodes(result, f"over {episodes} episodes ({used})")


def _echo_episodes(result, where: str) -> None:
    for i, (ret, length) in enumerate(zip(result.returns, result.lengths, strict=True)):
        typer.echo(f"episode {i}: return {ret:.2f} length {length}")
    typer.echo(f"mean return {result.mean:.2f} ± {result.std:.2f} {where}")


@app.command()
def watch(
    run_dir: Annotated[Path, typer.Argument(help="A run directory.")],
    episodes: Annotated[int, typer.Option(help="Episodes to play.")] = 3,
    checkpoint: Annotated[
        str, typer.Option(help="best, last (the newest) or a checkpoint directory.")
    ] = "last",
    gif: Annotated[bool, typer.Option(help="Write a GIF of each episode too.")] = False,
    live: Annotated[bool, typer.Option(help="Show the episodes in a window instead.")] = False,
) -> None:
    """Play a run's agent on the reference env: MP4 per episode, returns as `rlbox eval`."""
    from rlbox.watch import watch as play

    if episodes < 1:
        raise RlboxError(f"--episodes must be positive, got {episodes}")
    watched = play(run_dir, episodes=episodes, which=checkpoint, gif=gif, live=live)
    _echo_episodes(watched.result, f"({watched.checkpoint})")
    for path in watched.files:
        typer.echo(f"wrote {path}")


@app.command()
def report(
    directory: Annotated[Path, typer.Argument(help="A run directory or a comparison directory.")],
) -> None:
    """Write DIRECTORY/report.html: config, curves, final table and videos, in one file."""
    from rlbox.html_report import write_html_report

    typer.echo(f"wrote {write_html_report(directory)}")


@app.command()
def board(
    logdir: Annotated[Path, typer.Option(help="Folder of runs.")] = Path("runs"),
    port: Annotated[int, typer.Option(help="Port to serve on.")] = 6006,
) -> None:
    """Start TensorBoard on the runs folder."""
    import subprocess

    if not logdir.is_dir():
        raise RlboxError(f"no runs folder at {logdir}")
    command = [
        sys.executable,
        "-m",
        "tensorboard.main",
        "--logdir",
        str(logdir),
        "--port",
        str(port),
    ]
    raise typer.Exit(subprocess.call(command))


@app.command("run")
def run_(
    experiment: Annotated[Path, typer.Argument(help="An experiment file (YAML); see rlbox.grid.")],
    jobs: Annotated[
        int | None,
        typer.Option(help="Runs at a time (default: the file's, or the number of cores)."),
    ] = None,
) -> None:
    """Run an experiment file's grid of agents x envs x seeds, then write its report."""
    from rlbox.grid import load_grid, make_grid

    grid = load_grid(experiment)
    if jobs is not None:
        grid = make_grid(grid.agents, grid.envs, grid.seeds, grid.out, grid.steps, jobs,
                         grid.overrides)  # fmt: skip
    _run_and_report(grid)


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
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Config key for every agent: --set eval_every=5000."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Folder of the comparison (default: runs/compare-...).")
    ] = None,
) -> None:
    """Train AGENTS on the same envs, seeds and budget, then report IQM, CIs and curves."""
    from rlbox.config import parse_overrides
    from rlbox.grid import make_grid

    if seeds < 1:
        raise RlboxError(f"--seeds must be positive, got {seeds}")
    if out is None:
        budget = f"-{steps}" if steps else ""
        out = Path("runs") / f"compare-{'-'.join(env)}-{'-'.join(agents)}{budget}".replace("/", "_")
    grid = make_grid(agents, env, list(range(seeds)), out, steps, jobs, parse_overrides(set_ or []))
    _run_and_report(grid)


def _run_and_report(grid) -> None:
    from rich.console import Console

    from rlbox.grid import report, run_grid
    from rlbox.report import summary_table

    outcomes = run_grid(grid, echo=lambda line: print(line, flush=True))
    failed = [o for o in outcomes if o.status == "failed"]
    result = report(grid)
    Console().print(summary_table(result))
    typer.echo(f"report: {result.results}, {result.summary}, {result.curves}")
    if failed:
        names = ", ".join(o.run.name for o in failed)
        typer.echo(
            f"{len(failed)} of {len(outcomes)} runs failed: {names}; run again to finish them",
            err=True,
        )
        raise typer.Exit(1)


@app.command("list")
def list_(
    config: Annotated[
        str | None, typer.Option(help="Show the config keys of this agent and the run.")
    ] = None,
) -> None:
    """List agents, environments with tuned defaults, and probe environments."""
    from rich.console import Console
    from rich.table import Table

    from rlbox.agent import AGENTS
    from rlbox.config import RunConfig, describe, load_hyperparams

    console = Console()
    if config is not None:
        table = Table("key", "type", "default", "meaning", title=f"{config} and run config")
        for cls in (AGENTS.get(config).config_class, RunConfig):
            for key, type_name, default, help_text in describe(cls):
                table.add_row(key, type_name, repr(default), help_text)
        console.print(table)
        return
    from rlbox.envs import PROBES, tuned_env_ids

    agents = Table("agent", "description", title="agents")
    for name in AGENTS:
        doc = (AGENTS.get(name).__doc__ or "").strip().splitlines()[0]
        agents.add_row(name, doc)
    console.print(agents)
    tuned = Table(
        "agent", "env", "backend", "steps", "num_envs",
        title="tuned defaults (experiments/hyperparams)",
    )  # fmt: skip
    for name in AGENTS:
        for env_id, backend in tuned_env_ids(name):
            values = load_hyperparams(name, env_id, backend)
            steps, num_envs = str(values.get("steps", "")), str(values.get("num_envs", 1))
            tuned.add_row(name, env_id, backend, steps, num_envs)
    console.print(tuned)
    probes = Table("probe env", "what it tests", title="probe environments")
    for env_id, cls in PROBES.items():
        probes.add_row(env_id, (cls.__doc__ or "").strip())
    console.print(probes)
    console.print("Any other registered Gymnasium id works with the defaults of each agent.")


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    try:
        code = app(args=args or ["--help"], standalone_mode=False, prog_name="rlbox")
    except RlboxError as error:
        typer.echo(f"error: {error}", err=True)
        sys.exit(2)
    except TyperException as error:  # usage errors: unknown option, a value of the wrong type
        typer.echo(f"error: {error.format_message()}", err=True)
        sys.exit(2)
    except Abort:
        sys.exit(130)
    if isinstance(code, int) and code:
        if code == 130:
            typer.echo("interrupted; continue with: rlbox train --resume RUN_DIR", err=True)
        sys.exit(code)


if __name__ == "__main__":
    main()
