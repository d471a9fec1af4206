"""`rlbox list`: agents, tuned values, config keys, backbones and probe envs."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from rlbox.cli.app import app
from rlbox.errors import RlboxError


@app.command("list")
def list_(
    config: Annotated[
        str | None, typer.Option(help="Show the config keys of this agent and the run.")
    ] = None,
    backbones: Annotated[bool, typer.Option(help="Show the backbones only.")] = False,
    env: Annotated[
        str | None, typer.Option(help="With --backbones: parameter counts for this env.")
    ] = None,
) -> None:
    """List agents, environments with tuned defaults, backbones, and probe environments."""
    from rich.console import Console
    from rich.table import Table

    from rlbox.catalog import AGENTS
    from rlbox.config.experiment import RunConfig
    from rlbox.config.fields import describe
    from rlbox.config.tuned import load_hyperparams
    from rlbox.nn.backbone import BackboneUse, options_class

    console = Console()
    if env is not None and not backbones:
        raise RlboxError("--env goes with --backbones (parameter counts for that env)")
    if backbones:
        console.print(backbone_table(env))
        return
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
        if getattr(agent_class, "optional_backbone", False):
            table.add_row("backbone", "str", "None", "An rlbox backbone as features extractor.")
        if backbone is not None:
            for key, type_name, default, help_text in describe(BackboneUse):
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
    console.print(backbone_table(None))
    probes = Table("probe env", "what it tests", title="probe environments")
    for env_id, cls in PROBES.items():
        probes.add_row(env_id, (cls.__doc__ or "").strip())
    console.print(probes)
    console.print("Any other registered Gymnasium id works with the defaults of each agent.")


def backbone_table(env_id: str | None) -> Any:
    """The backbones, what each reads and, for `env_id`, its parameter count on that env's
    observations (windows of them for sequence backbones) or why it cannot read them."""
    from rich.table import Table

    from rlbox.nn.backbone import BACKBONES, make_backbone

    columns = ("backbone", "reads") + (("parameters",) if env_id else ("description",))
    table = Table(*columns, title="backbones (rlbox.nn)" + (f" on {env_id}" if env_id else ""))
    spaces: dict[int | None, Any] = {}
    for name in BACKBONES:
        cls = BACKBONES.get(name)
        row = [name, cls.reads]
        if env_id is None:
            row.append((cls.__doc__ or "").strip().splitlines()[0])
        else:
            option = getattr(cls, "window_option", None)
            history = None if option is None else getattr(cls.Options(), option)
            if history not in spaces:  # each env made once per window length
                spaces[history] = observation_space_of(env_id, history)
            space = spaces[history]
            if isinstance(space, RlboxError):
                row.append(f"- ({space})")
                table.add_row(*row)
                continue
            why = cls.refuses(space)
            if why is None:
                count = sum(p.numel() for p in make_backbone(name, space).parameters())
                row.append(f"{count:,}")
            else:
                row.append(f"- ({why})")
        table.add_row(*row)
    return table


def observation_space_of(env_id: str, history: int | None) -> Any:
    """The evaluation env's observation space (windows of `history` observations), or the
    `RlboxError` that making it raised."""
    from rlbox.envs import make_eval

    try:
        env = make_eval(env_id, history=history)
    except RlboxError as error:
        return error
    env.close()
    return env.observation_space
