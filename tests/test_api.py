"""The Python API as SB3 users use it: load / predict in a plain Gymnasium loop, callbacks that
stop a run, and `rlbox train --config FILE`."""

import gymnasium as gym
import numpy as np
import pytest
import yaml

import rlbox
from rlbox.cli import main
from rlbox.errors import RlboxError
from rlbox.run.runner import REPORT_SEED_OFFSET

SMALL = {
    "hidden_sizes": [16],
    "num_envs": 2,
    "eval_every": 500,
    "eval_episodes": 2,
    "final_eval_episodes": 3,
    "log_every": 250,
    "checkpoint_every": 500,
    "learning_starts": 200,
    "device": "cpu",
}


def train(tmp_path, env_id="CartPole-v1", steps=1_000, callbacks=(), **extra):
    overrides = {**SMALL, **extra}
    return rlbox.train("dqn", env_id, steps=steps, overrides=overrides, out=tmp_path,
                       callbacks=callbacks)  # fmt: skip


def play(policy, env_id, seed):
    """One episode in a plain Gymnasium loop, as an SB3 user writes it."""
    env = gym.make(env_id)
    obs, _ = env.reset(seed=seed)
    total, done = 0.0, False
    while not done:
        obs, reward, terminated, truncated, _ = env.step(policy.predict(obs))
        total += float(reward)
        done = terminated or truncated
    env.close()
    return total


@pytest.mark.parametrize("env_id", ["CartPole-v1", "FrozenLake-v1"])
def test_predict_in_a_gymnasium_loop_scores_what_rlbox_eval_scores(tmp_path, env_id):
    result = train(tmp_path, env_id)
    policy = rlbox.load(result.run_dir, checkpoint="last")
    seed = REPORT_SEED_OFFSET  # the run's seed is 0: episode i of `rlbox eval` has seed + i
    evaluated, _ = rlbox.evaluate_run(result.run_dir, episodes=3)
    assert [play(policy, env_id, seed + i) for i in range(3)] == list(evaluated.returns)


def test_predict_takes_one_observation_or_a_batch(tmp_path):
    policy = rlbox.load(train(tmp_path, "FrozenLake-v1").run_dir)  # Discrete(16) observations
    single = policy.predict(5)
    batch = policy.predict(np.array([5, 0, 14]))
    assert np.ndim(single) == 0 and policy.action_space.contains(int(single))
    assert batch.shape == (3,) and batch[0] == single
    with pytest.raises(RlboxError, match="shape"):
        policy.predict(np.zeros((2, 2, 2)))


def test_a_callback_stops_the_run_and_the_run_resumes(tmp_path):
    seen = []

    def stop_at_first_evaluation(step, metrics):
        seen.append((step, metrics["eval_return_mean"]))
        return True

    result = train(tmp_path, steps=2_000, callbacks=[stop_at_first_evaluation])
    assert [step for step, _ in seen] == [500]
    assert result.stopped and result.env_steps == 500
    run_dir = result.run_dir
    assert (run_dir / "checkpoints" / "step-500").is_dir() and (run_dir / "result.json").is_file()
    evaluated, _ = rlbox.evaluate_run(run_dir, episodes=SMALL["final_eval_episodes"])
    assert evaluated.mean == pytest.approx(result.eval_return_mean)  # the reporting seeds

    resumed = rlbox.resume(run_dir)
    assert resumed.env_steps == 2_000 and not resumed.stopped
    rows = (run_dir / "metrics.csv").read_text().splitlines()[1:]
    assert [int(row.split(",")[0]) for row in rows] == list(range(250, 2_001, 250))


def cli(*args):
    try:
        main([str(a) for a in args])
    except SystemExit as exit:
        return exit.code
    return 0


def test_train_config_file_reproduces_a_runs_config(tmp_path):
    first = train(tmp_path / "a", lr=0.002, gamma=0.95)
    config = first.run_dir / "config.yaml"
    assert cli("train", "--config", config, "--out", tmp_path / "b", "--quiet") == 0
    (second,) = (tmp_path / "b").iterdir()
    assert yaml.safe_load((second / "config.yaml").read_text()) == yaml.safe_load(
        config.read_text()
    )


def test_train_config_file_takes_a_flat_mapping_and_overrides(tmp_path):
    path = tmp_path / "best.yaml"
    path.write_text(yaml.safe_dump({"agent": "dqn", "env": "CartPole-v1", **SMALL, "lr": 0.003}))
    args = ("train", "--config", path, "--out", tmp_path / "runs", "--quiet", "--steps", 500)
    assert cli(*args, "--set", "gamma=0.9") == 0
    (run_dir,) = (tmp_path / "runs").iterdir()
    stored = yaml.safe_load((run_dir / "config.yaml").read_text())
    assert stored["hyperparams"]["lr"] == 0.003 and stored["hyperparams"]["gamma"] == 0.9
    assert stored["run"]["steps"] == 500 and stored["run"]["schedule_horizon"] == 500


@pytest.mark.parametrize(
    ("text", "args", "message"),
    [
        ("[1, 2]", (), "must be a mapping"),
        ("lr: [", (), "not valid YAML"),
        ("agent: dqn\nenv: CartPole-v1\nnot_a_key: 1", (), "unknown config key 'not_a_key'"),
        ("agent: dqn\nenv: CartPole-v1", ("ppo",), "AGENT ppo differs"),
        ("lr: 0.1", (), "needs AGENT and ENV"),
    ],
)
def test_bad_config_files_are_one_line_errors(tmp_path, capsys, text, args, message):
    path = tmp_path / "config.yaml"
    path.write_text(text)
    assert cli("train", *args, "--config", path, "--out", tmp_path / "runs") == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()


def test_a_missing_config_file_is_a_one_line_error(tmp_path, capsys):
    assert cli("train", "--config", tmp_path / "nope.yaml", "--out", tmp_path / "runs") == 2
    assert "cannot read --config" in capsys.readouterr().err
