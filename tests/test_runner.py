"""The runner end to end on a probe env: layout, logs, determinism, resume."""

import csv

import pytest
import yaml

import rlbox
from rlbox.run.logger import WALL_CLOCK_COLUMNS

ENV = "rlbox/ActionObsReward-v0"
SMALL = {
    "hidden_sizes": [16],
    "num_envs": 2,
    "eval_every": 500,
    "eval_episodes": 4,
    "final_eval_episodes": 6,
    "log_every": 250,
    "checkpoint_every": 500,
    "device": "cpu",
}


def train(tmp_path, steps=1_000, seed=0, agent="dqn", **extra):
    overrides = {**SMALL, **extra}
    if agent == "dqn":
        overrides.setdefault("learning_starts", 100)
    return rlbox.train(agent, ENV, steps=steps, seed=seed, overrides=overrides, out=tmp_path)


def read_metrics(run_dir, drop=WALL_CLOCK_COLUMNS):
    with open(run_dir / "metrics.csv", newline="") as f:
        return [{k: v for k, v in row.items() if k not in drop} for row in csv.DictReader(f)]


def test_run_directory_layout(tmp_path):
    result = train(tmp_path)
    run_dir = result.run_dir
    assert run_dir.parent == tmp_path
    assert run_dir.name.startswith("dqn-rlbox_ActionObsReward-v0-s0-")
    config = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert config["agent"] == "dqn" and config["env"] == ENV
    assert config["run"]["steps"] == 1_000 and config["backbone"]["hidden_sizes"] == [16]
    rows = read_metrics(run_dir, drop=())
    assert [int(r["step"]) for r in rows] == [250, 500, 750, 1000]
    assert rows[-1]["eval_return_mean"] != "" and rows[0]["eval_return_mean"] == ""
    assert {"loss", "epsilon", "q_mean", "time", "sps"} <= set(rows[-1])
    checkpoints = sorted(p.name for p in (run_dir / "checkpoints").iterdir())
    assert checkpoints == ["best", "step-1000", "step-500"]  # best: of the evaluations
    assert result.env_steps == 1_000
    assert float(rows[-1]["eval_return_mean"]) == pytest.approx(result.eval_return_mean)
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]


def test_tensorboard_reads_back_the_eval_return(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    result = train(tmp_path)
    events = EventAccumulator(str(result.run_dir))
    events.Reload()
    assert "eval/return_mean" in events.Tags()["scalars"]
    values = events.Scalars("eval/return_mean")
    assert [v.step for v in values] == [500, 1000]
    assert values[-1].value == pytest.approx(result.eval_return_mean)


@pytest.mark.parametrize("agent", ["dqn", "ppo", "reinforce"])
def test_same_seed_same_metrics(tmp_path, agent):
    first = read_metrics(train(tmp_path / "a", seed=3, agent=agent).run_dir)
    second = read_metrics(train(tmp_path / "b", seed=3, agent=agent).run_dir)
    other = read_metrics(train(tmp_path / "c", seed=4, agent=agent).run_dir)
    assert first == second
    assert first != other


@pytest.mark.parametrize("agent", ["dqn", "a2c"])
def test_resume_continues_to_the_budget(tmp_path, agent):
    result = train(tmp_path, steps=1_000, agent=agent)
    resumed = rlbox.resume(result.run_dir, steps=2_000)
    assert resumed.env_steps == 2_000
    rows = read_metrics(result.run_dir)
    assert [int(r["step"]) for r in rows] == [250 * i for i in range(1, 9)]
    config = yaml.safe_load((result.run_dir / "config.yaml").read_text())
    assert config["run"]["steps"] == 2_000
    # A finished run is not trained again.
    again = rlbox.resume(result.run_dir)
    assert again.env_steps == 2_000


def test_resume_drops_metrics_written_after_the_last_checkpoint(tmp_path):
    result = train(tmp_path, steps=1_000)
    run_dir = result.run_dir
    # Simulate a crash after step 750's metrics row but before its checkpoint: keep step-500.
    import shutil

    shutil.rmtree(run_dir / "checkpoints" / "step-1000")
    (run_dir / "result.json").unlink()
    rlbox.resume(run_dir)
    steps = [int(r["step"]) for r in read_metrics(run_dir)]
    assert steps == [250, 500, 750, 1000]
