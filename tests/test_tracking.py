"""`--track wandb`, in W&B's offline mode (nothing leaves the machine): the offline run files hold
each run's config and metrics, a grid's runs share a group, and the comparison's summary too."""

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("wandb")

PROBE = "rlbox/ActionObsReward-v0"


def rlbox_cli(*args, cwd):
    env = {**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "true"}
    return subprocess.run(
        [sys.executable, "-m", "rlbox.cli", *map(str, args)],
        capture_output=True, text=True, env=env, cwd=cwd, timeout=300,
    )  # fmt: skip


def records(path: Path) -> list:
    """The records of a W&B offline run file (`run-<id>.wandb`): a LevelDB-style log of 32 KiB
    blocks after a 7-byte header, each record split into chunks (full, first, middle, last)."""
    from wandb.proto import wandb_internal_pb2 as pb

    data = path.read_bytes()
    assert data[:4] == b":W&B"
    pos, block, chunks, out = 7, 32768, [], []
    while pos + 7 <= len(data):
        left = block - pos % block
        length, kind = int.from_bytes(data[pos + 4 : pos + 6], "little"), data[pos + 6]
        if left < 7 or kind == 0:  # the rest of a block is padding
            pos += left
            continue
        chunks.append(data[pos + 7 : pos + 7 + length])
        pos += 7 + length
        if kind in (1, 4):
            record = pb.Record()
            record.ParseFromString(b"".join(chunks))
            out.append(record)
            chunks = []
    return out


def offline_run(run_dir: Path) -> tuple:
    """(run record, history rows as {key: value}) of the one offline W&B run in `run_dir`."""
    import json

    (path,) = run_dir.glob("wandb/offline-run-*/run-*.wandb")
    run, history = None, []
    for record in records(path):
        kind = record.WhichOneof("record_type")
        if kind == "run":
            run = record.run
        elif kind == "history":
            items = record.history.item  # W&B keeps "eval/return_mean" as a nested key
            history.append(
                {i.key or "/".join(i.nested_key): json.loads(i.value_json) for i in items}
            )
    return run, history


def test_a_tracked_run_sends_its_config_and_every_metrics_row(tmp_path):
    out = tmp_path / "runs"
    proc = rlbox_cli("train", "dqn", PROBE, "--steps", 600, "--set", "eval_every=200",
                     "--set", "log_every=100", "--set", "learning_starts=100", "--track", "wandb",
                     "--quiet", "--out", out,
                     cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    (run_dir,) = out.iterdir()
    run, history = offline_run(run_dir)
    assert run.display_name == run_dir.name
    config = {item.key: item.value_json for item in run.config.update}
    assert config["agent"] == '"dqn"' and config["env"] == f'"{PROBE}"'
    with open(run_dir / "metrics.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [h["_step"] for h in history] == [int(r["step"]) for r in rows]
    evals = {h["_step"]: h["eval/return_mean"] for h in history if "eval/return_mean" in h}
    assert evals == {int(r["step"]): float(r["eval_return_mean"]) for r in rows
                     if r["eval_return_mean"]}  # fmt: skip
    assert "train/loss" in history[-1]


def test_a_tracked_comparison_groups_its_runs_and_sends_the_summary(tmp_path):
    out = tmp_path / "cmp"
    proc = rlbox_cli("compare", "dqn", "ppo", "--env", PROBE, "--seeds", 1, "--steps", 400,
                     "--track", "wandb", "--out", out, cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    groups = set()
    for run_dir in (p for p in out.iterdir() if p.name.startswith(("dqn-", "ppo-"))):
        run, history = offline_run(run_dir)
        groups.add(run.run_group)
        assert history, run_dir
    assert groups == {"cmp"}
    summary, history = offline_run(out)
    assert summary.run_group == "cmp" and summary.display_name == "cmp-summary"
    logged = {key.split("/")[0]: value for key, value in history[0].items()}  # media: nested
    assert {"summary", "curves"} <= set(logged)
    assert history[0]["summary/_type"] == "table-file"


def test_an_unknown_tracker_is_refused(tmp_path):
    proc = rlbox_cli("train", "dqn", PROBE, "--track", "mlflow", "--out", tmp_path / "r",
                     cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 2
    assert proc.stderr.strip() == "error: unknown tracker 'mlflow'; known: none, wandb"
    assert not (tmp_path / "r").exists()
