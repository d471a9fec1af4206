"""Resume: agent state round trips, exact resume on torch-native envs, schedule horizons, timings,
interrupted saves and evaluation seeds."""

import csv
import os
from pathlib import Path

import pytest
import torch
import yaml

import rlbox
from rlbox.run import checkpoint, runner
from rlbox.run.logger import WALL_CLOCK_COLUMNS

PROBE = "rlbox/ActionObsReward-v0"
BOX_PROBE = "rlbox/TargetAction-v0"
SMALL = {
    "hidden_sizes": [16],
    "eval_every": 500,
    "eval_episodes": 4,
    "final_eval_episodes": 6,
    "log_every": 250,
    "checkpoint_every": 500,
    "device": "cpu",
}
# Each agent with the parts of its state that a resume must carry: replay with n-step windows and
# priorities, rollouts cut mid-way, normalisers, gSDE noise.
AGENT_VALUES = {
    "dqn": {"learning_starts": 64, "batch_size": 16, "n_step": 3, "prioritized": True},
    "ppo": {"n_steps": 24, "batch_size": 16, "n_epochs": 2, "normalize_obs": True,
            "normalize_reward": True, "lr_schedule": "linear", "clip_range_schedule": "linear"},
    "a2c": {"n_steps": 5, "normalize_obs": True, "normalize_reward": True},
    "reinforce": {"episodes_per_update": 3, "normalize_obs": True},
    # their networks read [s, a] through net_arch, on the `flatten` backbone (no hidden_sizes)
    "sac": {"hidden_sizes": None, "net_arch": [16], "learning_starts": 64, "batch_size": 16,
            "lr_schedule": "linear", "use_sde": True, "sde_sample_freq": 7},
    "td3": {"hidden_sizes": None, "net_arch": [16], "learning_starts": 64, "batch_size": 16,
            "action_noise": "ou", "policy_delay": 3},
}  # fmt: skip


def agent_values(agent, **extra):
    values = {**SMALL, "num_envs": 3, "backend": "torch", **AGENT_VALUES[agent], **extra}
    return {key: value for key, value in values.items() if value is not None}


def build(agent, env_id=PROBE, seed=0, **extra):
    values = agent_values(agent, **extra)
    experiment, agent_class = runner.prepare(
        agent, env_id, {"steps": 4_000, "seed": seed, **values}
    )
    return runner.build_agent(experiment, agent_class)


def assert_same(saved, restored, path="state"):
    """Nested dicts, lists and tuples of tensors and plain values, equal exactly."""
    if isinstance(saved, torch.Tensor):
        assert isinstance(restored, torch.Tensor), path
        assert saved.dtype == restored.dtype and torch.equal(saved.cpu(), restored.cpu()), path
    elif isinstance(saved, dict):
        assert set(saved) == set(restored), f"{path}: {set(saved) ^ set(restored)}"
        for key in saved:
            assert_same(saved[key], restored[key], f"{path}.{key}")
    elif isinstance(saved, list | tuple):
        assert len(saved) == len(restored), path
        for i, (a, b) in enumerate(zip(saved, restored, strict=True)):
            assert_same(a, b, f"{path}.{i}")
    else:
        assert saved == restored, f"{path}: {saved!r} != {restored!r}"


@pytest.mark.parametrize("agent", ["dqn", "ppo", "a2c", "reinforce", "sac", "td3"])
def test_a_restored_agent_holds_the_saved_state_and_learns_identically(tmp_path, agent):
    env_id = BOX_PROBE if agent in ("ppo", "sac", "td3") else PROBE
    extra = {"use_sde": True} if agent == "ppo" else {}
    original = build(agent, env_id, **extra)
    original.learn(500)  # mid-rollout for ppo (3 x 24 does not divide 501) and a2c
    saved = checkpoint.load(checkpoint.save(tmp_path / "step-501", original.state_dict(), {}))[0]
    off_policy = agent in ("sac", "td3")
    for part in ("buffer", "rng", "loop", "optimizers" if off_policy else "optimizer"):
        assert part in saved, part
    if off_policy:
        assert saved["optimizers"]["actor"]["state"], "the optimizer has taken steps"
    elif agent != "dqn":
        assert "obs_norm" in saved
        assert saved["optimizer"]["state"], "the optimizer has taken steps"

    fresh = build(agent, env_id, **extra)
    fresh.load_state_dict(saved)
    assert_same(saved, fresh.state_dict())
    assert fresh.env_steps == original.env_steps

    # Networks, optimizers, buffers, normalisers, generators, env and schedules all carried: the
    # next updates and everything after them are the same.
    after_original, after_fresh = original.learn(300), fresh.learn(300)
    assert after_original == after_fresh
    assert_same(original.state_dict(), fresh.state_dict())


def test_two_agents_in_one_process_do_not_share_a_random_stream():
    alone = build("ppo")
    alone.learn(200)
    global_state = torch.get_rng_state()
    first, second = build("ppo"), build("ppo", seed=1)
    first.learn(100)
    second.learn(100)  # draws between first's two calls must not change first's stream
    torch.rand(3)  # nor draws from torch's global generator
    first.learn(100)
    assert_same(alone.state_dict()["net"], first.state_dict()["net"])
    torch.set_rng_state(global_state)
    build("dqn").learn(200)  # building and training leave the global generator as it was
    assert torch.equal(torch.get_rng_state(), global_state)


def read_metrics(run_dir):
    with open(run_dir / "metrics.csv", newline="") as f:
        return [{k: v for k, v in row.items() if k not in WALL_CLOCK_COLUMNS}
                for row in csv.DictReader(f)]  # fmt: skip


class Killed(BaseException):
    """Stands for SIGKILL: nothing after it runs, not even `except Exception` handlers."""


@pytest.mark.parametrize("agent", ["dqn", "ppo", "sac"])
def test_a_killed_and_resumed_run_gives_the_uninterrupted_metrics(tmp_path, monkeypatch, agent):
    values = agent_values(agent)
    probe = BOX_PROBE if agent == "sac" else PROBE
    whole = rlbox.train(agent, probe, steps=2_000, overrides=values, out=tmp_path / "whole")

    save = runner.Runner.save_checkpoint

    def save_then_die(self, name=None, **info):
        save(self, name, **info)
        if name is None and self.agent.env_steps >= 1_000:
            raise Killed

    monkeypatch.setattr(runner.Runner, "save_checkpoint", save_then_die)
    with pytest.raises(Killed):
        rlbox.train(agent, probe, steps=2_000, overrides=values, out=tmp_path / "cut")
    monkeypatch.undo()
    (run_dir,) = (tmp_path / "cut").iterdir()
    assert not (run_dir / "result.json").exists()
    resumed = rlbox.resume(run_dir)

    assert read_metrics(resumed.run_dir) == read_metrics(whole.run_dir)
    assert resumed.eval_return_mean == whole.eval_return_mean
    assert resumed.env_steps == whole.env_steps == 2_001  # three copies: whole vector steps

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run_dir))
    events.Reload()
    steps = [e.step for e in events.Scalars("eval/return_mean")]
    assert steps == sorted(set(steps)), "TensorBoard shows an evaluation twice"


def test_a_resume_to_a_larger_budget_keeps_schedules_and_config(tmp_path):
    values = {**SMALL, "num_envs": 2, "learning_starts": 100, "lr_schedule": "linear",
              "exploration_fraction": 0.5, "per_beta": 0.4, "prioritized": True}  # fmt: skip
    first = rlbox.train("dqn", PROBE, steps=1_000, overrides=values, out=tmp_path)
    config_before = yaml.safe_load((first.run_dir / "config.yaml").read_text())
    rows_before = read_metrics(first.run_dir)
    rlbox.resume(first.run_dir, steps=2_000)

    config = yaml.safe_load((first.run_dir / "config.yaml").read_text())
    assert config["run"]["steps"] == 2_000 and config["run"]["schedule_horizon"] == 1_000
    assert config["hyperparams"] == config_before["hyperparams"]
    assert {k: v for k, v in config["run"].items() if k != "steps"} == {
        k: v for k, v in config_before["run"].items() if k != "steps"
    }
    rows = read_metrics(first.run_dir)
    trained = [r for r in rows if int(r["step"]) <= 1_000]
    # the rows up to the old budget are the old rows but for the final evaluation's columns
    strip = ("eval_return_mean", "eval_return_std", "eval_length_mean")
    assert [{k: v for k, v in r.items() if k not in strip} for r in trained] == [
        {k: v for k, v in r.items() if k not in strip} for r in rows_before
    ]
    later = [r for r in rows if int(r["step"]) > 1_000]
    assert later and all(float(r["lr"]) == 0.0 for r in later)  # decayed to 0 and held
    assert all(float(r["epsilon"]) == pytest.approx(0.05) for r in later)  # held at its end


def test_train_seconds_add_up_over_resumes(tmp_path):
    first = rlbox.train("dqn", PROBE, steps=1_000, overrides={**SMALL, "learning_starts": 100},
                        out=tmp_path)  # fmt: skip
    again = rlbox.resume(first.run_dir, steps=1_500)
    assert again.train_seconds > first.train_seconds
    info = checkpoint.load(checkpoint.list_checkpoints(first.run_dir / "checkpoints")[-1])[1]
    assert info["train_seconds"] == pytest.approx(again.train_seconds, abs=1e-3)


@pytest.mark.parametrize("name", ["step-1000", "best"])
def test_a_save_killed_inside_its_swap_still_resumes_and_reports(tmp_path, monkeypatch, name):
    """The kill comes after the old checkpoint was renamed away, before the new one is in."""
    values = {**SMALL, "learning_starts": 100, "keep_checkpoints": 1}
    first = rlbox.train("dqn", PROBE, steps=1_000, overrides=values, out=tmp_path)
    run_dir, checkpoints = first.run_dir, first.run_dir / "checkpoints"
    (run_dir / "result.json").unlink()  # as if the run had been killed before finishing
    replace = os.replace

    def dies_in_the_swap(src, dst):
        if Path(dst).name == name:
            raise Killed
        replace(src, dst)

    monkeypatch.setattr(checkpoint.os, "replace", dies_in_the_swap)
    state, info = checkpoint.load(checkpoints / name)
    with pytest.raises(Killed):
        checkpoint.save(checkpoints / name, state, info)
    monkeypatch.undo()
    assert not (checkpoints / name).exists() and (checkpoints / f".{name}.old").is_dir()

    resumed = rlbox.resume(run_dir)
    assert resumed.env_steps == 1_000
    assert sorted(p.name for p in checkpoints.iterdir()) == ["best", "step-1000"]
    assert rlbox.evaluate_run(run_dir, episodes=2, checkpoint_dir=name)[1] == checkpoints / name
    from rlbox.report.tables import write_comparison

    report = write_comparison(tmp_path / "report", [run_dir])
    assert report.rows[0].seeds == 1 and report.rows[0].final_mean == resumed.eval_return_mean


def test_best_is_picked_on_seeds_apart_from_those_reported(tmp_path, monkeypatch):
    seen = []
    evaluate = runner.evaluate

    def recording(act, env_id, episodes, seed, **kwargs):
        seen.append((episodes, seed))
        return evaluate(act, env_id, episodes, seed, **kwargs)

    monkeypatch.setattr(runner, "evaluate", recording)
    result = rlbox.train("dqn", PROBE, steps=1_000, seed=3,
                         overrides={**SMALL, "learning_starts": 100}, out=tmp_path)  # fmt: skip
    selection = {s + i for n, s in seen if n == SMALL["eval_episodes"] for i in range(n)}
    reporting = {s + i for n, s in seen if n == SMALL["final_eval_episodes"] for i in range(n)}
    assert len(seen) == 3  # at 500 to select; at 1000 to select and to report
    assert selection and reporting and not selection & reporting
    best = checkpoint.load(result.run_dir / "checkpoints" / "best")
    assert "buffer" not in best[0] and "q" in best[0]  # only what evaluation needs

    seen.clear()
    again, _ = rlbox.evaluate_run(result.run_dir, episodes=6)
    assert seen == [(6, min(reporting))] and again.mean == result.eval_return_mean
    seen.clear()
    rlbox.evaluate_run(result.run_dir, episodes=2, seed=77)
    assert seen == [(2, 77)]
