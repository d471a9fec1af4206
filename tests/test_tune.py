"""`rlbox tune`: a study's outputs, pruning, best.yaml as a training config, and resuming a
killed study without running finished trials again."""

import os
import signal
import subprocess
import sys
import time

import pytest
import yaml

pytest.importorskip("optuna")

PROBE = "rlbox/ActionObsReward-v0"
# learning rates from hopeless to good, so that some trials fall below the median and are pruned
SPACE = {"lr": {"choices": [1.0e-7, 1.0e-6, 1.0e-3, 3.0e-3]}, "batch_size": {"choices": [16, 32]}}
FAST = ["--steps", 1200, "--set", "eval_every=200", "--set", "eval_episodes=10",
        "--set", "learning_starts=100", "--set", "hidden_sizes=[16]"]  # fmt: skip


def rlbox_cli(*args, cwd=None):
    return subprocess.Popen(
        [sys.executable, "-m", "rlbox.cli", *map(str, args)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd,
    )  # fmt: skip


def finish(process, timeout=300):
    stdout, stderr = process.communicate(timeout=timeout)
    assert process.returncode == 0, stderr
    return stdout


@pytest.fixture
def space(tmp_path):
    path = tmp_path / "space.yaml"
    path.write_text(yaml.safe_dump(SPACE))
    return path


def trial_states(folder):
    import optuna

    spec = yaml.safe_load((folder / "study.yaml").read_text())
    study = optuna.load_study(study_name=f"dqn-{PROBE}", storage=spec["storage"])
    return {t.number: t.state.name for t in study.trials}


def test_a_study_prunes_writes_best_yaml_and_plots(tmp_path, space):
    folder = tmp_path / "study"
    stdout = finish(rlbox_cli("tune", "dqn", PROBE, "--trials", 10, "--space", space,
                              "--out", folder, *FAST))  # fmt: skip
    states = trial_states(folder)
    assert len(states) == 10
    assert sum(s == "PRUNED" for s in states.values()) >= 2, states
    assert "10 trials:" in stdout
    for name in ("study.db", "study.yaml", "best.yaml", "optimization_history.png",
                 "param_importances.png", "trial-000-s0"):  # fmt: skip
        assert (folder / name).exists(), name
    best = yaml.safe_load((folder / "best.yaml").read_text())
    assert best["agent"] == "dqn" and best["env"] == PROBE
    assert best["lr"] in (1.0e-3, 3.0e-3)  # a hopeless learning rate never wins

    # best.yaml is a training config, for a seed the study did not use
    out = tmp_path / "runs"
    finish(rlbox_cli("train", "--config", folder / "best.yaml", "--seed", 7, "--quiet",
                     "--out", out))  # fmt: skip
    (run_dir,) = out.iterdir()
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert config["hyperparams"]["lr"] == best["lr"] and config["run"]["seed"] == 7


def test_a_killed_study_resumes_without_running_finished_trials_again(tmp_path, space):
    folder = tmp_path / "study"
    first = rlbox_cli("tune", "dqn", PROBE, "--trials", 50, "--space", space, "--out", folder,
                      *FAST)  # fmt: skip
    deadline = time.monotonic() + 240
    while not (folder / "trial-003-s0").exists():
        assert time.monotonic() < deadline and first.poll() is None, first.stderr.read()
        time.sleep(0.05)
    os.kill(first.pid, signal.SIGKILL)
    first.communicate(timeout=60)
    before = trial_states(folder)
    finished = {n for n, s in before.items() if s in ("COMPLETE", "PRUNED")}
    assert len(finished) >= 3 and "RUNNING" in before.values()
    stamps = {n: (folder / f"trial-{n:03d}-s0" / "result.json").stat().st_mtime_ns
              for n in finished}  # fmt: skip

    finish(rlbox_cli("tune", "--resume", folder, "--trials", 2))
    after = trial_states(folder)
    assert len(after) == len(before) + 2
    assert all(after[n] == before[n] for n in finished)
    assert all(after[n] == "FAIL" for n, s in before.items() if s == "RUNNING")
    for n, stamp in stamps.items():  # no finished trial ran again
        assert (folder / f"trial-{n:03d}-s0" / "result.json").stat().st_mtime_ns == stamp


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["tune", "dqn", PROBE, "--trials", 0], "--trials must be positive"),
        (["tune", "sb3-ppo", "CartPole-v1"], "no search space for 'sb3-ppo'"),
        (["tune", "--resume", "nowhere"], "nowhere is not a study folder"),
        (["tune", "dqn", PROBE, "--launcher", "slurm"], "unknown launcher 'slurm'"),
    ],
)
def test_bad_tune_input_is_one_line_and_exit_2(tmp_path, args, message):
    process = rlbox_cli(*args, cwd=tmp_path)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 2, stderr
    (line,) = stderr.strip().splitlines()
    assert line.startswith("error: ") and message in line
    assert not (tmp_path / "runs").exists()


def test_a_space_key_the_agent_lacks_is_refused_before_any_trial(tmp_path):
    path = tmp_path / "space.yaml"
    path.write_text(yaml.safe_dump({"lrr": {"low": 1e-4, "high": 1e-3}}))
    process = rlbox_cli("tune", "dqn", PROBE, "--space", path, "--out", tmp_path / "s")
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 2
    assert "unknown config key 'lrr'" in stderr and len(stderr.strip().splitlines()) == 1
    assert not (tmp_path / "s").exists()
