"""The `rlbox` command as a user runs it, in a subprocess: good paths and every bad input."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ENV = "rlbox/ActionObsReward-v0"
FAST = [
    "--set",
    "hidden_sizes=[16]",
    "--set",
    "learning_starts=100",
    "--set",
    "eval_every=500",
    "--set",
    "eval_episodes=2",
    "--set",
    "final_eval_episodes=4",
    "--device",
    "cpu",
]


def rlbox(*args, cwd):
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "rlbox.cli", *map(str, args)],
        cwd=cwd,
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def assert_clean_error(proc, message, out: Path):
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr + proc.stdout
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ") and message in lines[0], lines[0]
    assert not out.exists() or not any(out.iterdir()), "a rejected command wrote files"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["train", "dqq", "CartPole-v1"],
            "unknown agent 'dqq' (did you mean 'dqn'?); known: a2c, dqn, ppo, reinforce",
        ),
        (["train", "dqn", "CartPol-v1"], "unknown environment 'CartPol-v1'"),
        (["train", "dqn", "CartPole-v1", "--steps", "0"], "'steps': must be positive, got 0"),
        (["train", "dqn", "CartPole-v1", "--steps", "-5"], "'steps': must be positive"),
        (["train", "dqn", "CartPole-v1", "--steps", "ten"], "Invalid value for '--steps'"),
        (["train", "dqn", "CartPole-v1", "--set", "bogus=1"], "unknown config key 'bogus'"),
        (["train", "dqn", "CartPole-v1", "--set", "batch_size=big"], "expected int, got 'big'"),
        (["train", "ppo", "CartPole-v1", "--backbone", "resnett"], "unknown backbone 'resnett'"),
        (
            ["train", "ppo", "CartPole-v1", "--backbone", "resnet"],
            "backbone 'resnet' cannot read observations",
        ),
        (
            ["train", "dqn", "CartPole-v1", "--set", "augment=shift"],
            "augment=shift shifts images",
        ),
        (["list", "--env", "CartPole-v1"], "--env goes with --backbones"),
        (["train", "dqn", "CartPole-v1", "--set", "lr"], "expected key=value"),
        (["train", "dqn", "Pendulum-v1"], "dqn needs a Discrete action space"),
        (["train", "dqn", ENV, "--set", "batch_size=0"], "'batch_size': must be"),  # untuned
        (["train", "sac", "CartPole-v1"], "sac needs a Box action space"),
        (["train", "td3", "Acrobot-v1"], "agents that fit: a2c, dqn, ppo, reinforce"),
        (["train", "td3", "Pendulum-v1", "--set", "policy_delay=0"], "'policy_delay': must be"),
        (["train", "sac", "Pendulum-v1", "--set", "ent_coef=0"], "'ent_coef': must be positive"),
        (["train", "ppo", "CartPole-v1", "--set", "n_steps=0"], "'n_steps': must be >= 1"),
        (["train", "ppo", "CartPole-v1", "--set", "clip_range=-1"], "'clip_range'"),
        (["train", "a2c", "CartPole-v1", "--set", "action_bounds=squash"], "Box action spaces"),
        (["train", "--resume", "not-a-run"], "is not a run directory"),
        (["train", "dqn"], "train needs AGENT and ENV"),
        (["eval", "not-a-run"], "is not a run directory"),
        (["list", "--config", "nope"], "unknown agent 'nope'"),
        (["train", "dqn", "rlbox/ConstantReward-v0", "--video"], "cannot render rgb_array"),
        (["watch", "not-a-run"], "is not a run directory"),
        (["report", "nowhere"], "is neither a run directory"),
        (["board", "--logdir", "nowhere"], "no runs folder at nowhere"),
        (["compare", "dqn", "--env", "CartPole-v1", "--seeds", "0"], "--seeds must be positive"),
        (["compare", "dqn", "sb3-dqn", "--env", "Pendulum-v1"], "needs a Discrete action space"),
        (["compare", "dqn", "--env", "CartPole-v1", "--launcher", "slurm"], "unknown launcher"),
        (
            ["compare", "dqn", "--env", "CartPole-v1", "--launcher", "ray", "--retries", "-1"],
            "--retries must be >= 0",
        ),
        (["run", "missing.yaml"], "experiment file not found: missing.yaml"),
        (["train", "dqn", "CartPole-v1", "--device", "cuda:abc"], "must be cpu, cuda, cuda:N"),
        (["train", "dqn", "CartPole-v1", "--device", "cuda:7"], "--device cuda:7"),
        (["train", "dqn", "Blackjack-v1"], "Blackjack-v1 has Tuple(Discrete(32)"),
        (["train", "ppo", "Taxi-v3"], "did you mean 'Taxi-v4'"),
        (
            ["train", "dqn", "CartPole-v1", "--set", "batch_size=512", "--set", "buffer_size=256"],
            "512 is more than buffer_size 256",
        ),
        (
            [
                "train",
                "dqn",
                "CartPole-v1",
                "--num-envs",
                "8",
                "--set",
                "buffer_size=4",
                "--set",
                "batch_size=2",
            ],
            "less than one vector step of num_envs=8",
        ),
        (["eval", "not-a-run", "--seed", "-1"], "--seed must be >= 0"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    out = tmp_path / "runs"
    proc = (
        rlbox(*args, "--out", out, cwd=tmp_path)
        if args[0] == "train"
        else rlbox(*args, cwd=tmp_path)
    )
    assert_clean_error(proc, message, out)


@pytest.mark.skipif(importlib.util.find_spec("Box2D") is not None, reason="Box2D is installed here")
def test_an_env_whose_package_is_missing_is_one_line_and_exit_2(tmp_path):
    out = tmp_path / "runs"
    proc = rlbox("train", "td3", "LunarLanderContinuous-v3", "--out", out, cwd=tmp_path)
    assert_clean_error(proc, "Box2D is not installed; run: pip install swig 'rlbox[box2d]'", out)


def test_train_then_eval_then_resume(tmp_path):
    out = tmp_path / "runs"
    proc = rlbox(
        "train", "dqn", ENV, "--steps", "1000", "--quiet", "--out", out, *FAST, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    assert "final eval return" in proc.stdout
    # the probe env has no tuned dqn values: one line says so and where the values come from
    assert proc.stderr.count("rlbox: no tuned values for dqn on " + ENV) == 1, proc.stderr
    assert "experiments/hyperparams/dqn.yaml `default` (steps=" in proc.stderr
    (run_dir,) = out.iterdir()
    assert (run_dir / "checkpoints" / "step-1000" / "state.safetensors").is_file()

    proc = rlbox("eval", run_dir, "--episodes", "3", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("episode ") == 3 and "mean return" in proc.stdout

    proc = rlbox("train", "--resume", run_dir, "--steps", "1500", "--quiet", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "after 1500 steps" in proc.stdout


def test_eval_names_a_corrupt_checkpoint(tmp_path):
    out = tmp_path / "runs"
    proc = rlbox(
        "train", "dqn", ENV, "--steps", "500", "--quiet", "--out", out, *FAST, cwd=tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    (run_dir,) = out.iterdir()
    state = run_dir / "checkpoints" / "step-500" / "state.safetensors"
    state.write_bytes(b"not a tensor file")
    proc = rlbox("eval", run_dir, cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert str(state) in proc.stderr


def test_list_shows_agents_tuned_envs_and_probes(tmp_path):
    proc = rlbox("list", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    for expected in ("dqn", "CartPole-v1", "rlbox/TwoStep-v0"):
        assert expected in proc.stdout
    from rlbox.catalog import AGENTS
    from rlbox.config.tuned import tuned_env_ids

    cells = {tuple(c.strip() for c in line.split("│")[1:4]) for line in proc.stdout.splitlines()}
    for agent in AGENTS:  # every section of every table is a row
        for env_id, backend in tuned_env_ids(agent):
            assert (agent, env_id, backend) in cells, (agent, env_id, backend)
    proc = rlbox("list", "--config", "dqn", cwd=tmp_path)
    assert proc.returncode == 0 and "batch_size" in proc.stdout and "eval_every" in proc.stdout
    proc = rlbox("list", "--backbones", "--env", "CartPole-v1", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    rows = {line.split("│")[1].strip(): line for line in proc.stdout.splitlines() if "│" in line}
    assert "4,480" in rows["mlp"]  # 4 -> 64 -> 64: 320 + 4,160 weights and biases
    assert "(it reads channel-first images" in rows["resnet"] and "," in rows["gru"]


def test_import_rlbox_loads_no_agent_env_or_tensorflow():
    code = (
        "import sys, rlbox; bad = [m for m in sys.modules if m.startswith(('rlbox.agents', "
        "'rlbox.envs', 'torch', 'gymnasium', 'tensorflow'))]; print(bad)"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.stdout.strip() == "[]", proc.stdout


def test_no_arguments_prints_help(tmp_path):
    proc = rlbox(cwd=tmp_path)
    assert proc.returncode == 0 and "train" in proc.stdout and "error" not in proc.stderr


@pytest.mark.parametrize("command", ["train", "compare"])
def test_out_under_a_file_is_one_line_and_writes_nothing(tmp_path, command):
    blocker = tmp_path / "a-file"
    blocker.write_text("keep me")
    args = (
        ["train", "dqn", ENV, "--out", blocker / "runs"]
        if command == "train"
        else ["compare", "dqn", "--env", ENV, "--seeds", "1", "--out", blocker / "cmp"]
    )
    proc = rlbox(*args, cwd=tmp_path)
    assert_clean_error(proc, f"{blocker} is a file, not a folder", tmp_path / "nothing")
    assert blocker.read_text() == "keep me" and sorted(tmp_path.iterdir()) == [blocker]


def test_eval_seed_chooses_the_episodes(tmp_path):
    out = tmp_path / "runs"
    proc = rlbox("train", "ppo", "rlbox/ObsReward-v0", "--steps", "200", "--quiet", "--out", out,
                 "--set", "n_steps=8", "--device", "cpu", cwd=tmp_path)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    (run_dir,) = out.iterdir()
    returns = {}
    for seed in ("0", "1", None):
        extra = ("--seed", seed) if seed else ()
        proc = rlbox("eval", run_dir, "--episodes", "8", *extra, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        returns[seed] = [line for line in proc.stdout.splitlines() if line.startswith("episode")]
    # ObsReward's start (-1 or +1) is drawn from the seed: other seeds, other episodes
    assert returns["0"] != returns["1"]
    again = rlbox("eval", run_dir, "--episodes", "8", "--seed", "1", cwd=tmp_path)
    assert [ln for ln in again.stdout.splitlines() if ln.startswith("episode")] == returns["1"]
