"""The Stable-Baselines3 adapters: the Agent interface, budgets, schedules, checkpoints, errors."""

import subprocess
import sys

import numpy as np
import pytest
import torch

pytest.importorskip("stable_baselines3")

import rlbox
from rlbox import checkpoint
from rlbox.errors import MissingExtraError, RlboxError
from rlbox.runner import build_agent, evaluate_run, prepare, resume

QUIET = {"device": "cpu", "eval_every": 10**9, "eval_episodes": 2, "final_eval_episodes": 4}


def make(agent, env_id, **values):
    experiment, agent_class = prepare(agent, env_id, {**QUIET, **values})
    return build_agent(experiment, agent_class)


@pytest.mark.parametrize(
    ("agent", "values"),
    [
        ("sb3-dqn", {"learning_starts": 100, "train_freq": 4, "exploration_fraction": 0.3}),
        ("sb3-ppo", {"n_steps": 32, "batch_size": 64, "learning_rate": 3e-3}),
        ("sb3-a2c", {"n_steps": 8, "learning_rate": 3e-3}),
    ],
)
def test_adapters_learn_a_probe(agent, values):
    model = make(agent, "rlbox/ActionObsReward-v0", num_envs=4, steps=3_000, **values)
    model.learn(3_000)
    obs = torch.tensor([[-1.0], [1.0]])
    assert model.act(obs).tolist() == [0, 1]


def test_learn_continues_and_schedules_span_the_budget():
    model = make(
        "sb3-ppo", "rlbox/ConstantReward-v0", num_envs=2, steps=1_024, n_steps=64,
        learning_rate=1e-3, lr_schedule="linear",
    )  # fmt: skip
    first = model.learn(512)
    assert model.env_steps == 512
    second = model.learn(256)
    assert model.env_steps == 768  # continued, not restarted
    # SB3 sets the rate after each rollout from the progress through the whole budget (with its
    # own per-call progress, the first chunk would end at rate 0).
    assert first["learning_rate"] == pytest.approx(1e-3 * (1 - 512 / 1024))
    assert second["learning_rate"] == pytest.approx(1e-3 * (1 - 768 / 1024))
    assert first["episodes"] == 512 and first["train_return"] == 1.0


@pytest.mark.parametrize(
    "agent", ["dqn", "ppo", "a2c", "reinforce", "sb3-dqn", "sb3-ppo", "sb3-a2c"]
)
def test_every_agent_takes_the_budget_to_within_one_vector_step(agent, tmp_path):
    result = rlbox.train(
        agent, "rlbox/ActionReward-v0", steps=1_000, num_envs=3, out=tmp_path, overrides=QUIET
    )
    assert 1_000 <= result.env_steps < 1_003


def test_sb3_run_has_the_layout_of_an_own_run_and_evaluates(tmp_path):
    results = {}
    for agent in ("ppo", "sb3-ppo"):
        results[agent] = rlbox.train(
            agent, "rlbox/ActionReward-v0", steps=256, num_envs=2, out=tmp_path,
            overrides={**QUIET, "n_steps": 32, "checkpoint_every": 128, "log_every": 64},
        )  # fmt: skip
    layouts = []
    for result in results.values():
        run_dir = result.run_dir
        names = sorted(p.name for p in run_dir.iterdir() if not p.name.startswith("events"))
        assert any(p.name.startswith("events.out.tfevents") for p in run_dir.iterdir())
        assert [p.name for p in checkpoint.list_checkpoints(run_dir / "checkpoints")] == [
            "step-128", "step-256",
        ]  # fmt: skip
        layouts.append(names)
        evaluated, used = evaluate_run(run_dir, episodes=4)
        assert used.name == "step-256" and evaluated.mean == pytest.approx(result.eval_return_mean)
    assert layouts[0] == layouts[1] == ["checkpoints", "config.yaml", "metrics.csv", "result.json"]
    sb3_checkpoint = results["sb3-ppo"].run_dir / "checkpoints" / "step-256"
    from stable_baselines3 import PPO

    assert PPO.load(sb3_checkpoint / "model.zip").num_timesteps == 256  # SB3's own format


def test_resume_restores_the_replay_buffer_and_normalisation(tmp_path):
    values = {**QUIET, "learning_starts": 50, "train_freq": 4, "normalize_obs": True,
              "checkpoint_every": 300}  # fmt: skip
    result = rlbox.train("sb3-dqn", "rlbox/ObsReward-v0", steps=300, num_envs=2, out=tmp_path,
                         overrides=values)  # fmt: skip
    state, _ = checkpoint.load(result.run_dir / "checkpoints" / "step-300")
    experiment, agent_class = prepare("sb3-dqn", "rlbox/ObsReward-v0", {**values, "num_envs": 2})
    fresh = build_agent(experiment, agent_class)
    fresh.load_state_dict(state)
    buffer = fresh.model.replay_buffer
    # 150 vector steps; SB3 stops at the budget before storing the last one
    assert buffer.pos == state["replay_buffer"]["pos"] == 149 and not buffer.full
    saved = state["replay_buffer"]["observations"].numpy()
    assert np.array_equal(buffer.observations[:149], saved)
    assert set(np.unique(saved)) == {-1.0, 1.0}
    assert fresh.venv.obs_rms.count == pytest.approx(state["vec_normalize"]["obs"]["count"])
    assert fresh.env_steps == 300

    resumed = resume(result.run_dir, steps=600)
    assert 600 <= resumed.env_steps < 602


def test_dqn_adapter_refuses_box_actions_and_names_the_agents_that_fit():
    experiment, agent_class = prepare("sb3-dqn", "Pendulum-v1", QUIET)
    with pytest.raises(RlboxError, match=r"sb3-dqn needs a Discrete action space.*agents that fit"):
        build_agent(experiment, agent_class)
    experiment, agent_class = prepare("sb3-sac", "CartPole-v1", QUIET)
    with pytest.raises(RlboxError, match="sb3-sac needs a Box action space"):
        build_agent(experiment, agent_class)


def test_missing_extra_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "stable_baselines3", None)  # as if not installed
    with pytest.raises(MissingExtraError, match=r"pip install 'rlbox\[sb3\]'"):
        prepare("sb3-ppo", "CartPole-v1", {})


def test_cli_missing_extra_exits_2(tmp_path):
    code = (
        "import sys; sys.modules['stable_baselines3'] = None; "
        "from rlbox.cli import main; "
        "main(['train', 'sb3-ppo', 'CartPole-v1', '--out', sys.argv[1]])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: stable-baselines3 is not installed; run: pip install 'rlbox[sb3]'"
    ]
    assert list(tmp_path.iterdir()) == []
