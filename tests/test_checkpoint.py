import os
import pickle
import shutil
import signal
from pathlib import Path

import pytest
import torch

from rlbox.errors import CheckpointError
from rlbox.run import checkpoint


def test_round_trip_keeps_structure_types_and_values(tmp_path):
    model = torch.nn.Linear(3, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    model(torch.ones(1, 3)).sum().backward()
    optimizer.step()
    state = {
        "model": model.state_dict(),
        "optimizer": optimizer.state_dict(),  # int keys, tuples, bools, None
        "counters": {"env_steps": 7, "name": "x", "scale": 0.5},
        "generator": torch.Generator().manual_seed(3).get_state(),
    }
    checkpoint.save(tmp_path / "step-7", state, {"step": 7})
    loaded, info = checkpoint.load(tmp_path / "step-7")
    assert info == {"step": 7}
    assert loaded["counters"] == state["counters"]
    assert set(loaded["optimizer"]["state"]) == {0, 1}
    assert loaded["optimizer"]["param_groups"][0]["betas"] == (0.9, 0.999)
    for key, value in state["model"].items():
        assert torch.equal(loaded["model"][key], value)
    restored = torch.optim.Adam(torch.nn.Linear(3, 2).parameters(), lr=1.0)
    restored.load_state_dict(loaded["optimizer"])
    assert restored.param_groups[0]["lr"] == 1e-3


class Payload:
    """Unpickling this would create a marker file: the test checks that it never runs."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_pickled_payload_is_refused_without_running_it(tmp_path):
    marker = tmp_path / "payload-ran"
    good = checkpoint.save(tmp_path / "step-1", {"w": torch.zeros(2)}, {})
    # Replace the tensor file by a pickle (what torch.save writes) carrying the payload.
    with open(good / checkpoint.STATE_FILE, "wb") as f:
        pickle.dump({"w": Payload(marker)}, f)
    with pytest.raises(CheckpointError, match="corrupt or unsafe"):
        checkpoint.load(good)
    assert not marker.exists()
    # The same through torch.save's zip format.
    torch.save({"w": Payload(marker)}, good / checkpoint.STATE_FILE)
    with pytest.raises(CheckpointError):
        checkpoint.load(good)
    assert not marker.exists()


def test_missing_file_and_foreign_metadata_are_named(tmp_path):
    saved = checkpoint.save(tmp_path / "step-1", {"w": torch.zeros(2)}, {})
    (saved / checkpoint.META_FILE).write_text('{"format": "something-else"}')
    with pytest.raises(CheckpointError, match="not an rlbox checkpoint"):
        checkpoint.load(saved)
    os.remove(saved / checkpoint.STATE_FILE)
    with pytest.raises(CheckpointError, match=r"state\.safetensors"):
        checkpoint.load(saved)


def test_failed_save_leaves_the_previous_checkpoint_and_no_debris(tmp_path):
    checkpoint.save(tmp_path / "step-1", {"w": torch.ones(2)}, {})
    with pytest.raises(TypeError):
        checkpoint.save(tmp_path / "step-1", {"w": object()}, {})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["step-1"]
    state, _ = checkpoint.load(tmp_path / "step-1")
    assert torch.equal(state["w"], torch.ones(2))


def test_prune_keeps_the_newest(tmp_path):
    for step in (5, 10, 100):
        checkpoint.save(tmp_path / f"step-{step}", {"w": torch.zeros(1)}, {})
    checkpoint.prune(tmp_path, keep=2)
    assert [p.name for p in checkpoint.list_checkpoints(tmp_path)] == ["step-10", "step-100"]


# Interrupted saves. `best` holds ones(2) and is then saved again with twos(2); each case stops
# that save at one point and checks what `recover` makes of it.

OLD, NEW = torch.ones(2), torch.full((2,), 2.0)


class Killed(BaseException):
    """Stands in for the process being killed at the point where it is raised."""


def _names(directory: Path) -> list[str]:
    return sorted(p.name for p in directory.iterdir())


def _holds(directory: Path) -> torch.Tensor:
    state, info = checkpoint.load(directory)
    assert info == {"w": state["w"].tolist()}  # meta.json and the tensor file belong together
    return state["w"]


def _save(directory: Path, w: torch.Tensor) -> None:
    checkpoint.save(directory, {"w": w}, {"w": w.tolist()})


def _kill_replace_on_call(monkeypatch, root: Path, call: int) -> None:
    """`os.replace` inside `root` raises Killed, without renaming, on its `call`-th use."""
    real, calls = os.replace, []

    def replace(src, dst):
        if Path(src).parent == root:
            calls.append((Path(src).name, Path(dst).name))
            if len(calls) == call:
                raise Killed(calls[-1])
        return real(src, dst)

    monkeypatch.setattr(os, "replace", replace)


def _kill_rmtree_of_old_halfway(monkeypatch) -> None:
    """`shutil.rmtree` of a `.old` directory deletes one file and then raises Killed."""
    real = shutil.rmtree

    def rmtree(path, *args, **kwargs):
        if Path(path).name.endswith(".old") and Path(path).is_dir():
            os.remove(Path(path) / checkpoint.META_FILE)
            raise Killed(path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(shutil, "rmtree", rmtree)


@pytest.mark.parametrize(
    ("kill", "before_recover", "holds", "done"),
    [
        # tmp -> .new fails: still before the swap, so save itself removed its tmp directory.
        ("replace 1", ["best"], OLD, []),
        # best -> .best.old fails: .best.new is complete, recover rolls the swap forward.
        ("replace 2", [".best.new", "best"], NEW, ["completed {best} from an interrupted save"]),
        # .best.new -> best fails: no `best` at all until recover rolls forward.
        (
            "replace 3",
            [".best.new", ".best.old"],
            NEW,
            ["completed {best} from an interrupted save"],
        ),
        # Killed while deleting the old copy: best is new, the half-deleted .old is removed.
        ("rmtree .old", [".best.old", "best"], NEW, ["removed the leftover {old}"]),
    ],
)
def test_a_save_killed_during_the_swap_is_recovered(
    tmp_path, monkeypatch, kill, before_recover, holds, done
):
    root = tmp_path / "checkpoints"
    _save(root / "best", OLD)
    if kill == "rmtree .old":
        _kill_rmtree_of_old_halfway(monkeypatch)
    else:
        _kill_replace_on_call(monkeypatch, root, int(kill.split()[1]))
    with pytest.raises(Killed):
        _save(root / "best", NEW)
    monkeypatch.undo()
    assert _names(root) == before_recover
    paths = {"best": root / "best", "old": root / ".best.old"}
    assert checkpoint.recover(root) == [line.format(**paths) for line in done]
    assert _names(root) == ["best"]
    assert torch.equal(_holds(root / "best"), holds)
    assert checkpoint.recover(root) == []  # idempotent
    assert _names(root) == ["best"]


def test_a_swap_that_lost_its_new_directory_is_rolled_back(tmp_path, monkeypatch):
    root = tmp_path / "checkpoints"
    _save(root / "best", OLD)
    _kill_replace_on_call(monkeypatch, root, 3)  # killed with best renamed to .best.old
    with pytest.raises(Killed):
        _save(root / "best", NEW)
    monkeypatch.undo()
    shutil.rmtree(root / ".best.new")  # e.g. its rename never reached the disk
    assert checkpoint.recover(root) == [f"restored {root / 'best'} from an interrupted save"]
    assert _names(root) == ["best"]
    assert torch.equal(_holds(root / "best"), OLD)


def test_a_first_save_killed_before_its_last_rename_is_completed(tmp_path, monkeypatch):
    root = tmp_path / "checkpoints"
    _save(root / "step-1", OLD)
    _kill_replace_on_call(monkeypatch, root, 2)  # no best yet: the 2nd rename is .new -> best
    with pytest.raises(Killed):
        _save(root / "best", NEW)
    monkeypatch.undo()
    assert _names(root) == [".best.new", "step-1"]
    assert checkpoint.recover(root) == [f"completed {root / 'best'} from an interrupted save"]
    assert _names(root) == ["best", "step-1"]
    assert torch.equal(_holds(root / "best"), NEW)


def test_save_recovers_its_own_name_first(tmp_path, monkeypatch):
    root = tmp_path / "checkpoints"
    _save(root / "best", OLD)
    _kill_rmtree_of_old_halfway(monkeypatch)
    with pytest.raises(Killed):
        _save(root / "best", NEW)
    monkeypatch.undo()
    _save(root / "best", OLD + 2)  # without a recover in between
    assert _names(root) == ["best"]
    assert torch.equal(_holds(root / "best"), OLD + 2)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
@pytest.mark.parametrize(
    ("fsync_call", "holds"),
    # With {"w": tensor}, save fsyncs: 1 state.safetensors, 2 meta.json, 3 the tmp directory,
    # 4 the parent after the rename to .best.new, 5 the parent after the swap.
    [(1, OLD), (2, OLD), (3, OLD), (4, NEW), (5, NEW)],
)
def test_a_real_kill_at_each_fsync_is_recovered(tmp_path, fsync_call, holds):
    """SIGKILL, unlike an exception, runs no cleanup: a killed write leaves its tmp directory."""
    root = tmp_path / "checkpoints"
    _save(root / "best", OLD)
    pid = os.fork()
    if pid == 0:  # the child saves and is killed at its `fsync_call`-th fsync
        try:
            signal.alarm(60)
            calls = []

            def fsync(fd):
                calls.append(fd)
                if len(calls) == fsync_call:
                    os.kill(os.getpid(), signal.SIGKILL)

            os.fsync = fsync
            _save(root / "best", NEW)
        finally:
            os._exit(0)
    _, status = os.waitpid(pid, 0)
    assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
    debris = [name for name in _names(root) if name != "best"]
    assert debris and all(name.startswith(".best.") for name in debris)
    lines = checkpoint.recover(root)
    assert len(lines) >= 1
    assert _names(root) == ["best"]
    assert torch.equal(_holds(root / "best"), holds)
    assert checkpoint.recover(root) == []


def _snapshot(directory: Path) -> dict[str, tuple[int, bytes]]:
    return {
        str(p.relative_to(directory)): (p.stat().st_ino, p.read_bytes() if p.is_file() else b"")
        for p in sorted(directory.rglob("*"))
    }


def test_recover_is_a_no_op_on_a_clean_directory(tmp_path):
    root = tmp_path / "checkpoints"
    assert checkpoint.recover(root) == []  # missing directory
    for name in ("step-1", "step-2", "best"):
        _save(root / name, OLD)
    (root / ".cache").mkdir()  # dot-names that no save makes are not debris
    (root / ".best.new.txt").write_text("notes")
    before = _snapshot(root)
    assert checkpoint.recover(root) == []
    assert _snapshot(root) == before


def test_save_fsyncs_every_file_and_directory_it_writes(tmp_path, monkeypatch):
    root = tmp_path / "checkpoints"
    _save(root / "best", OLD)
    real, synced = os.fsync, []

    def fsync(fd):
        # Which inode, and whether `best` already held the new state when it was synced.
        best = checkpoint.load(root / "best")[1] if (root / "best").is_dir() else None
        synced.append((os.fstat(fd).st_ino, best))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    checkpoint.save(root / "best", {"w": NEW, "blob": b"zip"}, {"w": NEW.tolist()})
    monkeypatch.undo()
    inodes = {ino for ino, _ in synced}
    best = root / "best"
    for path in (best / checkpoint.STATE_FILE, best / "blob", best / checkpoint.META_FILE, best):
        assert path.stat().st_ino in inodes, path.name
    # The parent is synced once the swap has put the new state at `best`.
    assert (root.stat().st_ino, {"w": NEW.tolist()}) in synced


def test_prune_deletes_only_complete_step_directories(tmp_path):
    for step in (5, 10, 100):
        _save(tmp_path / f"step-{step}", OLD)
    _save(tmp_path / "best", OLD)
    for debris in (".step-1.new", ".step-2.old", ".step-3.tmp-x", "step-x"):
        (tmp_path / debris).mkdir()
    checkpoint.prune(tmp_path, keep=1)
    assert _names(tmp_path) == [
        ".step-1.new",
        ".step-2.old",
        ".step-3.tmp-x",
        "best",
        "step-100",
        "step-x",
    ]


def test_a_prune_killed_while_deleting_leaves_no_partial_checkpoint(tmp_path, monkeypatch):
    for step in (5, 10):
        _save(tmp_path / f"step-{step}", OLD)
    real = shutil.rmtree

    def rmtree(path, *args, **kwargs):
        if Path(path).is_dir() and any(Path(path).iterdir()):
            os.remove(next(Path(path).iterdir()))
            raise Killed(path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(shutil, "rmtree", rmtree)
    with pytest.raises(Killed):
        checkpoint.prune(tmp_path, keep=1)
    monkeypatch.undo()
    assert [p.name for p in checkpoint.list_checkpoints(tmp_path)] == ["step-10"]
    assert checkpoint.recover(tmp_path) == [
        f"removed the leftover {tmp_path / '.step-5.tmp-pruned'}"
    ]
    assert _names(tmp_path) == ["step-10"]
