"""Many runs at once: agents x envs x seeds, each in its own process and run directory.

An experiment file (YAML) names the grid:

    agents: [dqn, sb3-dqn]
    envs: [CartPole-v1]
    seeds: 5                  # or a list: [0, 1, 2]
    steps: 50000              # the same budget for every agent (optional: tuned budgets)
    jobs: 2                   # optional; default: the number of cores
    set:                      # optional config keys, for all agents or per agent
      eval_every: 5000
      dqn: {lr: 0.001}
    out: runs/dqn-vs-sb3      # optional; default: runs/<file name>

Runs go to `out/<agent>-<env>-s<seed>-<fingerprint>/`, their output to `out/logs/`. The
fingerprint hashes every resolved config value that differs from the defaults, so a grid run
again with other values (`--set lr=...`, another `--steps`) makes new runs beside the old ones.
A run that fails or is killed is reported and the others go on; running the same grid again
skips finished runs, resumes interrupted ones from their last checkpoint (only if the config
stored there is the one asked for) and restarts those that had none.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rlbox.config.experiment import Experiment, fingerprint, flat_values, identity
from rlbox.errors import ConfigError, RlboxError

GRID_KEYS = {"agents", "envs", "seeds", "steps", "jobs", "set", "out"}


@dataclass(frozen=True)
class Grid:
    agents: list[str]
    envs: list[str]
    seeds: list[int]
    out: Path
    steps: int | None = None
    jobs: int = 1
    overrides: dict[str, Any] = field(default_factory=dict)  # keys for all; {agent: {...}}

    def runs(self) -> list[RunSpec]:
        from rlbox.run.build import prepare

        runs = []
        for env_id in self.envs:
            for agent in self.agents:
                for seed in self.seeds:
                    values = self.values_for(agent, seed)
                    experiment, _ = prepare(agent, env_id, values)
                    runs.append(RunSpec(agent, env_id, seed, values, experiment))
        return runs

    def values_for(self, agent: str, seed: int) -> dict[str, Any]:
        shared = {k: v for k, v in self.overrides.items() if k not in self.agents}
        values = {**shared, **(self.overrides.get(agent) or {}), "seed": seed}
        if self.steps is not None:
            values["steps"] = self.steps
        return values


@dataclass(frozen=True)
class RunSpec:
    agent: str
    env_id: str
    seed: int
    values: dict[str, Any]
    experiment: Experiment  # the resolved config: the run's identity

    @property
    def name(self) -> str:
        from rlbox.run.rundir import run_name_of

        return f"{run_name_of(self.agent, self.env_id, self.seed)}-{fingerprint(self.experiment)}"

    def differences(self, run_dir: Path) -> str:
        """How the config stored in `run_dir` differs from this run's ("" when it does not)."""
        from rlbox.run import rundir
        from rlbox.run.build import prepare

        # Resolved again, so that a config.yaml written by an older rlbox (the MLP's sizes among
        # the agent's keys, no backbone section) compares by its values, not by its layout.
        try:
            config = rundir.read_config(run_dir)
            stored_experiment, _ = prepare(config["agent"], config["env"], flat_values(config))
        except (RlboxError, KeyError, TypeError) as error:
            return f"a config.yaml that does not resolve ({error})"
        stored = identity(stored_experiment.to_dict())
        wanted = identity(self.experiment.to_dict())
        keys = sorted(set(stored) | set(wanted))
        return ", ".join(
            f"{k}: {stored.get(k)!r} there, {wanted.get(k)!r} asked"
            for k in keys
            if stored.get(k) != wanted.get(k)
        )


def load_grid(path: str | Path) -> Grid:
    """Read an experiment file; raises ConfigError naming what is wrong."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"experiment file not found: {path}")
    try:
        spec = yaml.safe_load(path.read_text())
    except yaml.YAMLError as error:
        raise ConfigError(f"{path} is not valid YAML: {error}") from None
    if not isinstance(spec, dict):
        raise ConfigError(f"{path}: expected a mapping with agents, envs and seeds")
    unknown = sorted(set(spec) - GRID_KEYS)
    if unknown:
        raise ConfigError(
            f"{path}: unknown key {unknown[0]!r}; known: {', '.join(sorted(GRID_KEYS))}"
        )
    for key in ("agents", "envs", "seeds"):
        if key not in spec:
            raise ConfigError(f"{path}: missing key {key!r}")
    seeds = spec["seeds"]
    return make_grid(
        agents=_names(spec["agents"], "agents", path),
        envs=_names(spec["envs"], "envs", path),
        seeds=list(range(seeds)) if isinstance(seeds, int) else seeds,
        steps=spec.get("steps"),
        jobs=spec.get("jobs"),
        overrides=spec.get("set") or {},
        out=Path(spec.get("out") or Path("runs") / path.stem),
    )


def make_grid(
    agents: list[str],
    envs: list[str],
    seeds: list[int],
    out: Path,
    steps: int | None = None,
    jobs: int | None = None,
    overrides: dict[str, Any] | None = None,
) -> Grid:
    """A validated grid: every agent, env, config key and action space is checked before
    anything runs."""
    from rlbox.catalog import AGENTS, check_action_space
    from rlbox.envs import make_eval
    from rlbox.run.build import check_out_dir

    if not agents or not envs or not seeds:
        raise ConfigError("a grid needs at least one agent, one env and one seed")
    if not all(isinstance(s, int) and s >= 0 for s in seeds):
        raise ConfigError(f"seeds must be a count or a list of integers >= 0, got {seeds!r}")
    if steps is not None and (not isinstance(steps, int) or steps <= 0):
        raise ConfigError(f"steps must be a positive integer, got {steps!r}")
    if jobs is not None and (not isinstance(jobs, int) or jobs < 1):
        raise ConfigError(f"jobs must be a positive integer, got {jobs!r}")
    jobs = jobs or os.cpu_count() or 1
    check_out_dir(Path(out))
    grid = Grid(list(agents), list(envs), list(seeds), Path(out), steps, jobs, overrides or {})
    action_spaces: dict[tuple[str, str], Any] = {}  # by env id and options
    for run in grid.runs():  # resolving validates every run's config
        options = run.experiment.env_options  # they may change the action space
        key = (run.env_id, repr(sorted(options.items())))
        if key not in action_spaces:
            env = make_eval(run.env_id, **options)
            action_spaces[key] = env.action_space
            env.close()
        check_action_space(run.agent, AGENTS.get(run.agent), action_spaces[key], run.env_id)
    return grid


def _names(value: Any, key: str, path: Path) -> list[str]:
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise ConfigError(f"{path}: {key} must be a name or a list of names")
    return names
