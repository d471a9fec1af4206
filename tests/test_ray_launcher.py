"""The Ray launcher (`--launcher ray`): the local launcher's results, retries of a killed worker
from its checkpoint, and a grid whose driver was killed completing only what is missing."""

import csv
import json
import os
import signal
import subprocess
import sys
import time

import pytest

pytest.importorskip("ray")

PROBE = "rlbox/ConstantReward-v0"
TIMING = {"time"}


def rlbox_cli(*args):
    return subprocess.Popen(
        [sys.executable, "-m", "rlbox.cli", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: Ray's processes die with it
    )


def results(path):
    with open(path, newline="") as f:
        return [{k: v for k, v in row.items() if k not in TIMING} for row in csv.DictReader(f)]


def wait_for(condition, process, seconds=180):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline and process.poll() is None, process.stderr.read()
        time.sleep(0.02)


def test_ray_gives_the_local_launchers_results(tmp_path):
    common = ["compare", "dqn", "ppo", "--env", "rlbox/ActionObsReward-v0", "--seeds", 1,
              "--steps", 400, "--set", "eval_every=200", "--jobs", 2]  # fmt: skip
    for launcher in ("local", "ray"):
        process = rlbox_cli(*common, "--launcher", launcher, "--out", tmp_path / launcher)
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 0, stderr
    ray_rows = results(tmp_path / "ray" / "results.csv")
    assert len(ray_rows) == 2 * 2  # agents x (step 200, final at 400)
    assert ray_rows == results(tmp_path / "local" / "results.csv")


def test_a_killed_worker_is_retried_from_its_checkpoint(tmp_path):
    out = tmp_path / "grid"
    parent = rlbox_cli(
        "compare", "dqn", "--env", PROBE, "--seeds", 2, "--steps", 6_000, "--jobs", 2,
        "--set", "checkpoint_every=500", "--set", "eval_every=10000", "--launcher", "ray",
        "--out", out,
    )  # fmt: skip
    logs = out / "logs"
    wait_for(lambda: logs.is_dir() and list(logs.glob("*.pid")), parent)
    pid_file = sorted(logs.glob("*.pid"))[0]
    victim = out / pid_file.name.removesuffix(".pid")
    wait_for(lambda: list((victim / "checkpoints").glob("step-*")), parent)
    assert not (victim / "result.json").exists(), "the run ended before it could be killed"
    os.kill(int(pid_file.read_text()), signal.SIGKILL)
    stdout, stderr = parent.communicate(timeout=300)

    assert parent.returncode == 0, stderr
    assert stdout.count("\ndone dqn-") == 2 and "\nfailed " not in stdout
    for run_dir in (p for p in out.iterdir() if p.name.startswith("dqn-")):
        assert json.loads((run_dir / "result.json").read_text())["env_steps"] == 6_000
    assert "resuming" in (logs / f"{victim.name}.log").read_text()


def test_a_killed_grid_run_again_completes_only_the_missing_runs(tmp_path):
    out = tmp_path / "grid"
    args = ["compare", "dqn", "--env", PROBE, "--seeds", 2, "--steps", 3_000, "--jobs", 1,
            "--set", "checkpoint_every=500", "--set", "eval_every=10000", "--launcher", "ray",
            "--out", out]  # fmt: skip
    first = rlbox_cli(*args)
    wait_for(lambda: len(list(out.glob("dqn-*/result.json"))) == 1, first)
    os.killpg(first.pid, signal.SIGKILL)  # the driver and the Ray processes it started
    first.communicate(timeout=60)
    (done,) = out.glob("dqn-*/result.json")
    before = done.read_text()

    again = rlbox_cli(*args)
    stdout, stderr = again.communicate(timeout=300)
    assert again.returncode == 0, stderr
    assert "1 of 2 runs finished before; skipping them" in stdout
    assert stdout.count("submitted ") == 1
    assert done.read_text() == before
    assert len(list(out.glob("dqn-*/result.json"))) == 2


def test_ray_only_flags_without_ray_are_refused(tmp_path):
    process = rlbox_cli(
        "compare", "dqn", "--env", PROBE, "--seeds", 1, "--address", "auto", "--out", tmp_path
    )
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 2
    assert stderr.strip() == "error: --address goes with --launcher ray"
