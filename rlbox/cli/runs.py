"""`rlbox train`, `eval`, `watch` and `report`: one run at a time."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from rlbox.cli.app import app
from rlbox.errors import RlboxError


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
    backbone: Annotated[
        str | None,
        typer.Option(help="Perception backbone (`rlbox list --backbones`); --set backbone.X=..."),
    ] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="Override a config key: --set lr=5e-4.")
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder for run directories.")] = Path("runs"),
    resume: Annotated[
        Path | None, typer.Option(help="Continue this run directory to its budget.")
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option(help="YAML of config keys, e.g. a run's config.yaml: trains with its values."),
    ] = None,
    quiet: Annotated[bool, typer.Option(help="No progress bar.")] = False,
    video: Annotated[
        bool, typer.Option(help="Record an evaluation episode to videos/ (see video_every).")
    ] = False,
    verbose: Annotated[
        bool, typer.Option(help="Show TensorFlow's log lines (tfa-* agents hide them).")
    ] = False,
    track: Annotated[
        str, typer.Option(help="none, or wandb: send config, metrics and videos to W&B.")
    ] = "none",
) -> None:
    """Train AGENT on ENV; writes runs/<agent>-<env>-s<seed>-<time>/."""
    import os

    from rlbox.config.experiment import parse_overrides
    from rlbox.run import runner, tracking

    tracking.enable(track)
    if verbose:
        os.environ["RLBOX_VERBOSE"] = "1"  # read by rlbox.agents.tfagents.env

    if resume is not None:
        given = (agent, env, set_, video, backend, backbone, device)
        if any(given) or config or seed is not None or num_envs is not None:
            raise RlboxError("--resume takes the run's own config; only --steps may change it")
        result = runner.resume(resume, steps=steps, progress=not quiet)
    else:
        values: dict = {}
        if config is not None:
            agent, env, values = _with_config_file(config, agent, env)
        if agent is None or env is None:
            raise RlboxError("train needs AGENT and ENV (or --config FILE, or --resume RUN_DIR)")
        overrides = parse_overrides(set_ or [])
        new_budget = steps is not None or "steps" in overrides
        if (
            new_budget
            and "schedule_horizon" in values
            and values["schedule_horizon"] == values.get("steps")
        ):
            del values["schedule_horizon"]  # the file's was its budget: follow the new one
        result = runner.train(
            agent,
            env,
            steps=steps,
            seed=seed,
            device=device,
            num_envs=num_envs,
            overrides={
                **values,
                **overrides,
                **({"video": True} if video else {}),
                **({"backend": backend} if backend else {}),
                **({"backbone": backbone} if backbone else {}),
            },
            out=out,
            progress=not quiet,
        )
    typer.echo(
        f"final eval return {result.eval_return_mean:.2f} ± {result.eval_return_std:.2f} "
        f"after {result.env_steps} steps ({result.train_seconds:.1f} s training)"
        f" -> {result.run_dir}"
    )


def _with_config_file(path: Path, agent: str | None, env: str | None) -> tuple:
    """AGENT, ENV and the values of a --config file; arguments given must agree with it."""
    from rlbox.config.experiment import read_config_file

    file_agent, file_env, values = read_config_file(path)
    for what, given, stored in (("AGENT", agent, file_agent), ("ENV", env, file_env)):
        if given is not None and stored is not None and given != stored:
            raise RlboxError(f"{what} {given} differs from --config {path}, which has {stored}")
    return agent or file_agent, env or file_env, values


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
    from rlbox.run.runner import evaluate_run

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
    from rlbox.run.watch import watch as play

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
    from rlbox.report.html import write_html_report

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
