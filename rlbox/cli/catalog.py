"""`rlbox list`: agents, tuned values, config keys, backbones and probe envs."""

from __future__ import annotations

from typing import Annotated

import typer

from rlbox.cli.app import app


@app.command("list")
def list_(
    config: Annotated[
        str | None, typer.Option(help="Show the config keys of this agent and the run.")
    ] = None,
) -> None:
    """List agents, environments with tuned defaults, backbones, and probe environments."""
    from rich.console import Console
    from rich.table import Table

    from rlbox.catalog import AGENTS
    from rlbox.config.experiment import RunConfig
    from rlbox.config.fields import describe
    from rlbox.config.tuned import load_hyperparams
    from rlbox.nn.backbone import BACKBONES, options_class

    console = Console()
    if config is not None:
        agent_class = AGENTS.get(config)
        table = Table("key", "type", "default", "meaning", title=f"{config} and run config")
        for cls in (agent_class.config_class, RunConfig):
            for key, type_name, default, help_text in describe(cls):
                table.add_row(key, type_name, repr(default), help_text)
        backbone = getattr(agent_class, "default_backbone", None)
        if backbone is not None:
            table.add_row("backbone", "str", repr(backbone.name), "Perception backbone (below).")
            for key, type_name, default, help_text in describe(options_class(backbone.name)):
                default = backbone.options.get(key, default)
                table.add_row(f"backbone.{key}", type_name, repr(default), help_text)
        console.print(table)
        return
    from rlbox.config.tuned import tuned_env_ids
    from rlbox.envs import PROBES

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
    backbones = Table("backbone", "reads", "description", title="backbones (rlbox.nn)")
    for name in BACKBONES:
        cls = BACKBONES.get(name)
        doc = (cls.__doc__ or "").strip().splitlines()[0]
        backbones.add_row(name, cls.reads, doc)
    console.print(backbones)
    probes = Table("probe env", "what it tests", title="probe environments")
    for env_id, cls in PROBES.items():
        probes.add_row(env_id, (cls.__doc__ or "").strip())
    console.print(probes)
    console.print("Any other registered Gymnasium id works with the defaults of each agent.")
