"""Grids of runs (`rlbox run`, `rlbox compare`): validation, reports, failures and re-runs."""

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

from rlbox.errors import RlboxError
from rlbox.grid.spec import load_grid, make_grid

PROBE = "rlbox/ConstantReward-v0"


def rlbox_cli(*args):
    return subprocess.Popen(
        [sys.executable, "-m", "rlbox.cli", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def write_grid(path, **spec):
    path.write_text(yaml.safe_dump(spec))
    return path


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"agents": ["nope"], "envs": [PROBE], "seeds": 1}, "unknown agent 'nope'"),
        ({"agents": ["dqn"], "envs": ["Nope-v0"], "seeds": 1}, "unknown environment 'Nope-v0'"),
        ({"agents": ["dqn"], "envs": [PROBE], "seeds": 1, "set": {"lrr": 1}}, "unknown config key"),
        ({"agents": ["dqn"], "envs": [PROBE], "seeds": 1, "budget": 5}, "unknown key 'budget'"),
        ({"agents": ["dqn"], "envs": [PROBE]}, "missing key 'seeds'"),
        ({"agents": ["dqn"], "envs": [PROBE], "seeds": [-1]}, "seeds must be"),
    ],
)
def test_a_bad_experiment_file_is_refused_before_anything_runs(tmp_path, spec, message):
    path = write_grid(tmp_path / "grid.yaml", out=str(tmp_path / "out"), **spec)
    with pytest.raises(RlboxError, match=message):
        load_grid(path)
    assert not (tmp_path / "out").exists()


def test_per_agent_settings_reach_only_their_agent(tmp_path):
    grid = make_grid(
        ["dqn", "ppo"], [PROBE], [0, 1], tmp_path, steps=100,
        overrides={"eval_every": 50, "dqn": {"lr": 0.01}, "ppo": {"n_steps": 4}},
    )  # fmt: skip
    values = {(r.agent, r.seed): r.values for r in grid.runs()}
    assert values["dqn", 1] == {"eval_every": 50, "lr": 0.01, "seed": 1, "steps": 100}
    assert values["ppo", 0] == {"eval_every": 50, "n_steps": 4, "seed": 0, "steps": 100}


def test_compare_writes_the_report(tmp_path):
    out = tmp_path / "cmp"
    process = rlbox_cli(
        "compare", "dqn", "ppo", "--env", PROBE, "--seeds", 2, "--steps", 400, "--jobs", 2,
        "--set", "eval_every=200", "--out", out,
    )  # fmt: skip
    _, stderr = process.communicate(timeout=240)
    assert process.returncode == 0, stderr
    assert {p.name for p in out.iterdir()} >= {"results.csv", "summary.md", "curves.png", "logs"}
    summary = (out / "summary.md").read_text()
    assert "| dqn | rlbox/ConstantReward-v0 | 2 |" in summary
    assert "| ppo | rlbox/ConstantReward-v0 | 2 |" in summary
    rows = (out / "results.csv").read_text().strip().splitlines()
    assert len(rows) == 1 + 2 * 2 * 2  # header + agents x seeds x (step 200, final at 400)


def test_a_killed_run_leaves_the_others_and_a_rerun_completes_only_it(tmp_path):
    out = tmp_path / "grid"
    path = write_grid(
        tmp_path / "grid.yaml", agents=["dqn"], envs=[PROBE], seeds=3, steps=6_000, jobs=3,
        set={"checkpoint_every": 500, "log_every": 500, "eval_every": 3_000}, out=str(out),
    )  # fmt: skip
    run_dirs = {run.seed: out / run.name for run in load_grid(path).runs()}
    victim = run_dirs[1]
    pid_file = out / "logs" / f"{victim.name}.pid"
    parent = rlbox_cli("run", path)
    deadline = time.monotonic() + 120
    while not (pid_file.exists() and list((victim / "checkpoints").glob("step-*"))):
        assert time.monotonic() < deadline and parent.poll() is None, "the run never started"
        time.sleep(0.02)
    os.kill(int(pid_file.read_text()), signal.SIGKILL)
    stdout, stderr = parent.communicate(timeout=240)

    assert parent.returncode == 1
    assert f"1 of 3 runs failed: {victim.name}" in stderr
    finished = {}
    for seed in (0, 2):
        result = run_dirs[seed] / "result.json"
        finished[seed] = (result.stat().st_mtime_ns, result.read_text())
        assert json.loads(finished[seed][1])["env_steps"] == 6_000
    assert not (victim / "result.json").exists()

    again = rlbox_cli("run", path)
    stdout, stderr = again.communicate(timeout=240)
    assert again.returncode == 0, stderr
    assert "2 of 3 runs finished before; skipping them" in stdout
    assert stdout.count("started ") == 1 and f"started {victim.name}" in stdout
    for seed, before in finished.items():
        result = run_dirs[seed] / "result.json"
        assert (result.stat().st_mtime_ns, result.read_text()) == before
    assert json.loads((victim / "result.json").read_text())["env_steps"] == 6_000
    assert "resuming" in (out / "logs" / f"{victim.name}.log").read_text()
    assert "| dqn | rlbox/ConstantReward-v0 | 3 |" in (out / "summary.md").read_text()


def test_cli_run_with_a_missing_file_exits_2(tmp_path):
    process = rlbox_cli("run", tmp_path / "nope.yaml")
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 2
    assert stderr.strip() == f"error: experiment file not found: {tmp_path / 'nope.yaml'}"


def test_compare_with_other_values_trains_again_and_reports_both(tmp_path):
    out = tmp_path / "cmp"
    base = ["compare", "dqn", "--env", "CartPole-v1", "--seeds", 1, "--steps", 3000, "--jobs", 1,
            "--set", "eval_every=1500", "--set", "device=cpu", "--out", out]  # fmt: skip
    outputs = []
    for lr in ("0.001", "0.0005"):
        process = rlbox_cli(*base, "--set", f"lr={lr}")
        stdout, stderr = process.communicate(timeout=240)
        assert process.returncode == 0, stderr
        outputs.append(stdout)
    assert "finished before" not in outputs[1] and "started dqn-CartPole-v1-s0-" in outputs[1]
    runs = sorted(p for p in out.iterdir() if p.name.startswith("dqn-"))
    assert len(runs) == 2
    lrs = {yaml.safe_load((r / "config.yaml").read_text())["hyperparams"]["lr"] for r in runs}
    assert lrs == {0.001, 0.0005}
    summary = (out / "summary.md").read_text()
    assert "| dqn [lr=0.001] | CartPole-v1 | 1 |" in summary
    assert "| dqn [lr=0.0005] | CartPole-v1 | 1 |" in summary

    # The same command again finds its own run finished, not the other one.
    process = rlbox_cli(*base, "--set", "lr=0.0005")
    stdout, _ = process.communicate(timeout=240)
    assert process.returncode == 0 and "1 of 1 runs finished before" in stdout


def test_an_interrupted_run_with_other_stored_values_is_not_resumed(tmp_path):
    grid = make_grid(["dqn"], [PROBE], [0], tmp_path, steps=200, overrides={"eval_every": 100})
    (run,) = grid.runs()
    run_dir = tmp_path / run.name
    run_dir.mkdir()
    config = run.experiment.to_dict()
    config["hyperparams"]["lr"] = 0.5  # e.g. made by an rlbox whose defaults were other
    (run_dir / "config.yaml").write_text(yaml.safe_dump(config))
    from rlbox.grid.local import run_grid

    (outcome,) = run_grid(grid, echo=lambda _: None)
    assert outcome.status == "failed"
    assert "lr: 0.5 there, 0.001 asked" in outcome.detail
    assert sorted(p.name for p in run_dir.iterdir()) == ["config.yaml"]  # untouched
