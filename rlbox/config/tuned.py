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
    path = _table_path(agent)
    if not path.is_file():
        return {}
    table = yaml.safe_load(path.read_text()) or {}
    values = dict(table.get("default") or {})
    for key, section in table.items():
        if _is_pattern(key) and fnmatch.fnmatchcase(env_id, key):
            values.update(section or {})
    values.update(table.get(env_id) or {})
    values.update(table.get(f"{env_id}@{backend}") or {})
    return values


def _is_pattern(key: str) -> bool:
    return any(c in key for c in "*?[")


def tuned_env_ids(agent: str) -> list[tuple[str, str]]:
    """(env id or pattern, backend) of each section in experiments/hyperparams/<agent>.yaml."""
    path = _table_path(agent)
    if not path.is_file():
        return []
    table = yaml.safe_load(path.read_text()) or {}
    sections = [k for k in table if k != "default"]
    return [(k.partition("@")[0], k.partition("@")[2] or "gymnasium") for k in sections]
