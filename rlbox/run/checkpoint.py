"""Checkpoints: tensors in safetensors, everything else in JSON. Loading never unpickles.

A checkpoint is a directory `step-<N>/` (or a named one such as `best/`) holding
`state.safetensors` and `meta.json`. The nested state dict is split into a flat
`{key: tensor}` map for safetensors and a JSON tree in which each tensor is replaced by
`{"$tensor": key}`. A `bytes` value is written as a file of its own, named by its key (a
baseline library's own save file, e.g. SB3's `model.zip`), and replaced by `{"$file": name}`.

Saving `<name>` never leaves a moment in which no complete `<name>` can be recovered:

1. write every file into `.<name>.tmp-XXXX` next to it, fsync each file and the directory;
2. rename it to `.<name>.new` and fsync the parent: a `.new` is complete by construction;
3. rename `<name>` (when there is one) to `.<name>.old`;
4. rename `.<name>.new` to `<name>` and fsync the parent;
5. remove `.<name>.old`.

`recover` (run it before a run is resumed, evaluated or reported, while nothing writes the run)
puts back what a kill interrupted, for each name:

- killed in 1 (or before 2's rename): only a `.tmp-` directory is left; it is removed and
  `<name>` still holds the old state;
- killed after 2, in 3 or in 4: `.<name>.new` exists and is complete, so the swap is rolled
  forward: `<name>` holds the new state;
- killed in 5: `<name>` already holds the new state; the (maybe half-removed) `.old` goes;
- `<name>` missing while `.<name>.old` exists (a swap interrupted without its `.new`): the
  old directory is renamed back.

Everything whose name starts with a dot is invisible to `list_checkpoints` and `prune`; `prune`
renames a checkpoint to `.step-<N>.tmp-pruned` before deleting it, so a kill leaves no partial
`step-<N>/`. `recover` must not run while a live process saves into the same directory. `save`
recovers its own name first, so it also works where `recover` was not called.
"""

from __future__ import annotations

import glob
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
    _recover_name(directory.parent, directory.name)
    parts = _Parts()
    tree = _encode(state, parts, "state")
    meta = json.dumps({"format": FORMAT, "version": VERSION, "info": info, "tree": tree})
    new = _sibling(directory, "new")
    tmp = Path(tempfile.mkdtemp(prefix=f".{directory.name}.tmp-", dir=directory.parent))
    try:
        _write(tmp, parts, meta)
        os.replace(tmp, new)
        _fsync(directory.parent)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    _swap(new, directory)
    return directory


def recover(checkpoints_dir: Path) -> list[str]:
    """Finish or undo the saves a kill interrupted and remove their debris; say what was done.

    Idempotent, and safe to kill and rerun. Not for a directory that a live run is writing.
    """
    checkpoints_dir = Path(checkpoints_dir)
    if not checkpoints_dir.is_dir():
        return []
    names = {_owner(p.name) for p in checkpoints_dir.iterdir() if p.is_dir()} - {None}
    return [line for name in sorted(names) for line in _recover_name(checkpoints_dir, name)]


def _recover_name(parent: Path, name: str) -> list[str]:
    target = parent / name
    new, old = _sibling(target, "new"), _sibling(target, "old")
    actions = []
    if new.is_dir():
        shutil.rmtree(old, ignore_errors=True)  # a `.new` is complete: any `.old` is not needed
        _swap(new, target)
        actions.append(f"completed {target} from an interrupted save")
    elif old.is_dir() and not target.exists():
        os.replace(old, target)
        _fsync(parent)
        actions.append(f"restored {target} from an interrupted save")
    for debris in [*sorted(parent.glob(f".{glob.escape(name)}.tmp-*")), old]:
        if debris.is_dir():
            shutil.rmtree(debris)
            actions.append(f"removed the leftover {debris}")
    return actions


def _owner(entry: str) -> str | None:
    """The checkpoint name that `.<name>.new`, `.<name>.old` or `.<name>.tmp-*` belongs to."""
    if not entry.startswith("."):
        return None
    if entry.endswith((".new", ".old")):
        return entry[1:-4] or None
    name, marker, _ = entry[1:].rpartition(".tmp-")
    return name if marker and name else None


def _sibling(directory: Path, kind: str) -> Path:
    return directory.with_name(f".{directory.name}.{kind}")


def _write(tmp: Path, parts: _Parts, meta: str) -> None:
    save_file(parts.tensors, str(tmp / STATE_FILE))
    for name, data in parts.files.items():
        (tmp / name).write_bytes(data)
    (tmp / META_FILE).write_text(meta)
    for name in (STATE_FILE, *parts.files, META_FILE):
        _fsync(tmp / name)
    _fsync(tmp)


def _swap(new: Path, target: Path) -> None:
    """Put the complete `new` at `target` by renames only, then delete the previous `target`."""
    old = _sibling(target, "old")
    if target.exists():
        os.replace(target, old)
    os.replace(new, target)
    _fsync(target.parent)
    shutil.rmtree(old, ignore_errors=True)  # what a failure here leaves, `recover` removes


def _fsync(path: Path) -> None:
    """Flush a file's data, or a directory's entries, to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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
    """Delete all but the newest `keep` checkpoints.

    Each is first renamed to `.step-<N>.tmp-pruned`, so a kill while deleting leaves debris
    for `recover` rather than a partial `step-<N>/` that would look like a checkpoint.
    """
    for old in list_checkpoints(checkpoints_dir)[:-keep]:
        doomed = old.with_name(f".{old.name}.tmp-pruned")
        shutil.rmtree(doomed, ignore_errors=True)
        os.replace(old, doomed)
        shutil.rmtree(doomed, ignore_errors=True)
