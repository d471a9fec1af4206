import os
import pickle
from pathlib import Path

import pytest
import torch

from rlbox import checkpoint
from rlbox.errors import CheckpointError


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
