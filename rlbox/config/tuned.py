"""Tuned values: the one reader of experiments/hyperparams/<agent>.yaml."""

from __future__ import annotations

import fnmatch
from importlib import resources
from typing import Any

import yaml


def _table_path(agent: str) -> Any:
    return resources.files("rlbox.experiments") / "hyperparams" / f"{agent}.yaml"


def load_hyperparams(agent: str, env_id: str, backend: str = "gymnasium") -> dict[str, Any]:
    """Tuned values for (agent, env): the `default` section, updated by each section whose key
    is a pattern that matches the env id (`ALE/*-v5`: a family of envs, in file order), then by
    the env's own section, then by the `<env id>@<backend>` section when the run uses that
    backend."""
    table = _read_table(agent)
    values = dict(table.get("default") or {})
    for key in _sections(table, env_id, backend):
        values.update(table[key] or {})
    return values


def _sections(table: dict[str, Any], env_id: str, backend: str) -> list[str]:
    """The keys of the sections that tune env_id, in the order they apply (none: the env gets
    the `default` section alone)."""
    patterns = [k for k in table if _is_pattern(k) and fnmatch.fnmatchcase(env_id, k)]
    return patterns + [k for k in (env_id, f"{env_id}@{backend}") if k in table]


def untuned_notice(agent: str, env_id: str, backend: str = "gymnasium") -> str | None:
    """One line for a run on an env without tuned values, saying which values it uses instead;
    None when the env has a section."""
    table = _read_table(agent)
    if _sections(table, env_id, backend):
        return None
    default = table.get("default") or {}
    general = ", ".join(f"{k}={v}" for k, v in default.items())
    source = f"experiments/hyperparams/{agent}.yaml `default` ({general}) and " if default else ""
    return (
        f"no tuned values for {agent} on {env_id}: keys not set here come from {source}"
        f"{agent}'s config defaults (`rlbox list --config {agent}`); `rlbox list` shows the "
        "tuned pairs"
    )


def _read_table(agent: str) -> dict[str, Any]:
    path = _table_path(agent)
    if not path.is_file():
        return {}
    return yaml.safe_load(path.read_text()) or {}


def _is_pattern(key: str) -> bool:
    return any(c in key for c in "*?[")


def tuned_env_ids(agent: str) -> list[tuple[str, str]]:
    """(env id or pattern, backend) of each section in experiments/hyperparams/<agent>.yaml."""
    sections = [k for k in _read_table(agent) if k != "default"]
    return [(k.partition("@")[0], k.partition("@")[2] or "gymnasium") for k in sections]
