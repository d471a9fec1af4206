"""Checkpoints: tensors in safetensors, everything else in JSON. Loading never unpickles.

A checkpoint is a directory `step-<N>/` holding `state.safetensors` and `meta.json`. The nested
state dict is split into a flat `{key: tensor}` map for safetensors and a JSON tree in which
each tensor is replaced by `{"$tensor": key}`. A `bytes` value is written as a file of its own,
named by its key (a baseline library's own save file, e.g. SB3's `model.zip`), and replaced by
`{"$file": name}`. A directory is written under a temporary name
and renamed into place, so a crash leaves either the old set of checkpoints or the new one.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from rlbox.errors import CheckpointError

FORMAT = "rlbox-checkpoint"
VERSION = 1
STATE_FILE = "state.safetensors"
META_FILE = "meta.json"


@dataclass
class _Parts:
    tensors: dict[str, torch.Tensor] = field(default_factory=dict)
    files: dict[str, bytes] = field(default_factory=dict)


def _encode(value: Any, out: _Parts, path: str) -> Any:
    if isinstance(value, torch.Tensor):
        out.tensors[path] = value.detach().cpu().contiguous()
        return {"$tensor": path}
    if isinstance(value, bytes):
        name = path.removeprefix("state.")
        if "/" in name or name.startswith(".") or name in (STATE_FILE, META_FILE):
            raise ValueError(f"cannot use {name!r} as a checkpoint file name")
        out.files[name] = value
        return {"$file": name}
    if isinstance(value, dict):
        return {"$dict": [[k, _encode(v, out, f"{path}.{k}")] for k, v in value.items()]}
    if isinstance(value, tuple):
        return {"$tuple": [_encode(v, out, f"{path}.{i}") for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [_encode(v, out, f"{path}.{i}") for i, v in enumerate(value)]
    if value is None or isinstance(value, bool | int | float | str):
        return value
    raise TypeError(f"cannot checkpoint {type(value).__name__} at {path!r}")


def _decode(node: Any, tensors: dict[str, torch.Tensor], directory: Path) -> Any:
    if isinstance(node, dict):
        if "$tensor" in node:
            return tensors[node["$tensor"]]
        if "$file" in node:
            path = directory / Path(node["$file"]).name
            if not path.is_file():
                raise CheckpointError(f"checkpoint file missing: {path}")
            return path.read_bytes()
        if "$dict" in node:
            return {k: _decode(v, tensors, directory) for k, v in node["$dict"]}
        if "$tuple" in node:
            return tuple(_decode(v, tensors, directory) for v in node["$tuple"])
        raise CheckpointError(f"unexpected node in checkpoint tree: {sorted(node)}")
    if isinstance(node, list):
        return [_decode(v, tensors, directory) for v in node]
    return node


def save(directory: Path, state: dict[str, Any], info: dict[str, Any]) -> Path:
    """Write `state` (nested dicts of tensors and plain values) atomically to `directory`."""
    directory = Path(directory)
    directory.parent.mkdir(parents=True, exist_ok=True)
    parts = _Parts()
    tree = _encode(state, parts, "state")
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}-", dir=directory.parent))
    try:
        save_file(parts.tensors, str(tmp / STATE_FILE))
        for name, data in parts.files.items():
            (tmp / name).write_bytes(data)
        meta = {"format": FORMAT, "version": VERSION, "info": info, "tree": tree}
        (tmp / META_FILE).write_text(json.dumps(meta))
        if directory.exists():
            shutil.rmtree(directory)
        os.replace(tmp, directory)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return directory


def load(directory: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """Read a checkpoint written by `save`; return (state, info)."""
    directory = Path(directory)
    meta_path, state_path = directory / META_FILE, directory / STATE_FILE
    for path in (meta_path, state_path):
        if not path.is_file():
            raise CheckpointError(f"checkpoint file missing: {path}")
    try:
        meta = json.loads(meta_path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise CheckpointError(f"corrupt checkpoint metadata {meta_path}: {error}") from None
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{meta_path} is not an rlbox checkpoint")
    try:
        tensors = load_file(str(state_path))
    except (SafetensorError, OSError, ValueError) as error:
        raise CheckpointError(f"corrupt or unsafe checkpoint {state_path}: {error}") from None
    try:
        state = _decode(meta["tree"], tensors, directory)
    except KeyError as error:
        raise CheckpointError(f"checkpoint {directory} lacks tensor {error}") from None
    return state, meta.get("info", {})


def step_of(directory: Path) -> int:
    return int(directory.name.removeprefix("step-"))


def list_checkpoints(checkpoints_dir: Path) -> list[Path]:
    """Complete checkpoints in `checkpoints_dir`, oldest first."""
    if not checkpoints_dir.is_dir():
        return []
    found = [
        p
        for p in checkpoints_dir.iterdir()
        if p.is_dir() and p.name.startswith("step-") and p.name[5:].isdigit()
    ]
    return sorted(found, key=step_of)


def prune(checkpoints_dir: Path, keep: int) -> None:
    """Delete all but the newest `keep` checkpoints."""
    for old in list_checkpoints(checkpoints_dir)[:-keep]:
        shutil.rmtree(old, ignore_errors=True)
