"""`rlbox tune`: an Optuna study of an agent's config on one env (rlbox.tune)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from rlbox.cli.app import app
from rlbox.errors import RlboxError


@app.command()
def tune(
    agent: Annotated[str | None, typer.Argument(help="Agent to tune; see `rlbox list`.")] = None,
    env: Annotated[str | None, typer.Argument(help="Gymnasium env id.")] = None,
    trials: Annotated[int, typer.Option(help="Trials to run now.")] = 20,
    space: Annotated[
        Path | None, typer.Option(help="Search space YAML (default: experiments/spaces/AGENT).")
    ] = None,
    storage: Annotated[
        str | None,
        typer.Option(help="Optuna storage: a database URL or a journal file (default: in --out)."),
    ] = None,
    launcher: Annotated[str, typer.Option(help="local (processes) or ray (Ray tasks).")] = "local",
    jobs: Annotated[int, typer.Option(help="Trials at a time.")] = 1,
    steps: Annotated[int | None, typer.Option(help="Budget per run (default: tuned).")] = None,
    seeds: Annotated[
        int, typer.Option(help="Runs per trial, seeds 0..K-1; scored by the mean.")
    ] = 1,
    set_: Annotated[
        list[str] | None,
        typer.Option("--set", help="Config key fixed for every trial: --set num_envs=8."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option(help="Study folder (default: runs/tune-AGENT-ENV).")
    ] = None,
    resume: Annotated[Path | None, typer.Option(help="Continue the study in this folder.")] = None,
    track: Annotated[
        str, typer.Option(help="none, or wandb: every trial's runs to W&B, one group.")
    ] = "none",
) -> None:
    """Search AGENT's config on ENV with Optuna (TPE, median pruning); writes best.yaml."""
    from rlbox.config.experiment import parse_overrides
    from rlbox.run import tracking
    from rlbox.tune import study

    study.check_trials(trials, jobs)
    if launcher not in ("local", "ray"):
        raise RlboxError(f"unknown launcher {launcher!r}; known: local, ray")
    if launcher == "ray":
        from rlbox.grid.ray_launcher import import_ray

        import_ray()
    if resume is not None:
        given = {"AGENT": agent, "ENV": env, "--space": space, "--storage": storage,
                 "--steps": steps, "--set": set_, "--out": out}  # fmt: skip
        extra = [name for name, value in given.items() if value]
        if extra or seeds != 1:
            raise RlboxError(
                f"--resume continues the study as it was made; drop {extra or ['--seeds']}"
            )
        spec = study.resume_study(resume)
    else:
        if agent is None or env is None:
            raise RlboxError("tune needs AGENT and ENV (or --resume STUDY)")
        if seeds < 1:
            raise RlboxError(f"--seeds must be positive, got {seeds}")
        folder = out or Path("runs") / f"tune-{agent}-{env}".replace("/", "_")
        spec = study.TuneSpec(
            agent, env, str(folder), steps, seeds, str(space) if space else None, storage or "",
            parse_overrides(set_ or []),
        )  # fmt: skip
        spec = study.create_study(spec, processes=jobs if launcher == "local" else 2)
        typer.echo(f"study {spec.folder}: storage {spec.storage}")
    tracking.enable(track, group=spec.folder.name)
    study.run_study(spec, trials, jobs, launcher, echo=typer.echo)
