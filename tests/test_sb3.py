"""The Stable-Baselines3 adapters: the Agent interface, step accounting, schedules over the
horizon, checkpoints, errors."""

import subprocess
import sys

import numpy as np
import pytest
import torch

pytest.importorskip("stable_baselines3")

import rlbox
from rlbox.errors import ConfigError, MissingExtraError, RlboxError
from rlbox.run import checkpoint
from rlbox.run.build import build_agent, prepare
from rlbox.run.runner import evaluate_run, resume

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


def test_ppo_schedules_run_over_the_horizon_and_hold_past_it():
    model = make(
        "sb3-ppo", "rlbox/ConstantReward-v0", num_envs=2, steps=1_024, n_steps=64, n_epochs=2,
        learning_rate=1e-3, lr_schedule="linear", clip_range_schedule="linear",
    )  # fmt: skip
    first = model.learn(512)
    assert model.env_steps == 512
    second = model.learn(256)
    assert model.env_steps == 768  # continued, not restarted
    # SB3 sets the rate after each rollout from the progress through the horizon (with its
    # own per-call progress, the first chunk would end at rate 0).
    assert first["learning_rate"] == pytest.approx(1e-3 * (1 - 512 / 1024))
    assert second["learning_rate"] == pytest.approx(1e-3 * (1 - 768 / 1024))
    assert second["clip_range"] == pytest.approx(0.2 * (1 - 768 / 1024))
    assert first["episodes"] == 512 and first["train_return"] == 1.0
    past = model.learn(1_024)  # a resume to a larger budget: past the horizon of 1,024
    assert model.env_steps == 1_792  # the steps asked for, not capped at the horizon
    assert past["learning_rate"] == 0.0 and past["clip_range"] == 0.0  # held, not rescaled
    assert model.model.policy.optimizer.param_groups[0]["lr"] == 0.0


def test_dqn_exploration_and_lr_hold_their_final_values_past_the_horizon():
    model = make(
        "sb3-dqn", "rlbox/ConstantReward-v0", num_envs=2, steps=200, learning_starts=0,
        train_freq=2, batch_size=8, exploration_fraction=0.5, exploration_final_eps=0.05,
        learning_rate=1e-3, lr_schedule="linear",
    )  # fmt: skip
    model.learn(40)
    # over the horizon's first half (100 steps), not over the chunk
    assert model.model.exploration_rate == pytest.approx(1 - 0.95 * 40 / 100)
    past = model.learn(300)
    assert model.env_steps == 340  # past the horizon of 200, not capped
    assert model.model.exploration_rate == pytest.approx(0.05)
    assert past["learning_rate"] == 0.0


def test_learn_takes_the_steps_asked_for_and_a_cut_rollout_continues():
    model = make("sb3-ppo", "rlbox/ConstantReward-v0", num_envs=2, steps=10_000, n_steps=32,
                 n_epochs=1, batch_size=64)  # fmt: skip
    model.learn(100)  # one rollout of 32 x 2 steps and 36 steps of the next
    assert model.env_steps == 100 and model.model._n_updates == 1
    assert model.model.rollout_buffer.pos == 18
    model.learn(27)  # 14 vector steps: to within one of the steps asked for
    assert model.env_steps == 128 and model.model._n_updates == 2  # the cut rollout, completed


def test_train_freq_counts_env_steps_summed_over_copies():
    values = {"num_envs": 2, "steps": 1_000, "learning_starts": 0, "batch_size": 8}
    model = make("sb3-dqn", "rlbox/ConstantReward-v0", train_freq=4, **values)
    assert model.model.train_freq.frequency == 2  # SB3's count: vector steps, i.e. per copy
    for chunk in (6, 10, 24):  # rounds that a chunk's end cuts continue in the next call
        model.learn(chunk)
    assert model.env_steps == 40
    assert model.model._n_updates == 40 // 4  # rlbox's meaning: a round per 4 env steps in all
    assert model.model.replay_buffer.pos == 20  # every vector step stored, none dropped
    every = make("sb3-dqn", "rlbox/ConstantReward-v0", train_freq=4, gradient_steps=-1, **values)
    every.learn(6)
    every.learn(34)
    assert every.model._n_updates == 40  # -1: as many as the rounds' env steps


def test_off_policy_step_counts_that_do_not_fit_are_one_line_config_errors(tmp_path):
    with pytest.raises(ConfigError, match=r"'train_freq': 3 env steps .* multiple of num_envs 2"):
        rlbox.train("sb3-dqn", "rlbox/ConstantReward-v0", num_envs=2, out=tmp_path / "runs",
                    overrides={**QUIET, "train_freq": 3})  # fmt: skip
    assert not (tmp_path / "runs").exists()  # refused before the run directory is written
    with pytest.raises(ConfigError, match=r"'batch_size': 64 exceeds buffer_size 32"):
        prepare("sb3-sac", "Pendulum-v1", {"batch_size": 64, "buffer_size": 32})
    with pytest.raises(ConfigError, match=r"'buffer_size': 2 holds less than one vector step"):
        make("sb3-dqn", "rlbox/ConstantReward-v0", num_envs=4, train_freq=4, buffer_size=2,
             batch_size=1)  # fmt: skip


@pytest.mark.parametrize(
    "agent", ["dqn", "ppo", "a2c", "reinforce", "sb3-dqn", "sb3-ppo", "sb3-a2c"]
)
def test_every_agent_takes_the_budget_to_within_one_vector_step(agent, tmp_path):
    # sb3-dqn's default train_freq of 4 env steps is not a whole number of vector steps of 3
    values = {**QUIET, "train_freq": 3} if agent == "sb3-dqn" else QUIET
    result = rlbox.train(
        agent, "rlbox/ActionReward-v0", steps=1_000, num_envs=3, out=tmp_path, overrides=values
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


def test_resume_restores_the_replay_buffer_and_normalisation_and_best_needs_none(tmp_path):
    values = {**QUIET, "learning_starts": 50, "train_freq": 4, "normalize_obs": True,
              "checkpoint_every": 300}  # fmt: skip
    result = rlbox.train("sb3-dqn", "rlbox/ObsReward-v0", steps=300, num_envs=2, out=tmp_path,
                         overrides=values)  # fmt: skip
    state, _ = checkpoint.load(result.run_dir / "checkpoints" / "step-300")
    experiment, agent_class = prepare("sb3-dqn", "rlbox/ObsReward-v0", {**values, "num_envs": 2})
    fresh = build_agent(experiment, agent_class)
    fresh.load_state_dict(state)
    buffer = fresh.model.replay_buffer
    assert buffer.pos == state["buffer"]["pos"] == 150 and not buffer.full  # 150 vector steps
    saved = state["buffer"]["observations"].numpy()
    assert np.array_equal(buffer.observations[:150], saved)
    assert set(np.unique(saved)) == {-1.0, 1.0}
    assert fresh.venv.obs_rms.count == pytest.approx(state["vec_normalize"]["obs"]["count"])
    assert fresh.env_steps == 300

    # checkpoints/best/ holds the state without its "buffer": enough to act, an empty buffer
    best = build_agent(experiment, agent_class)
    best.load_state_dict({k: v for k, v in state.items() if k != "buffer"})
    assert best.model.replay_buffer.pos == 0 and not best.model.replay_buffer.full
    obs = torch.tensor([[-1.0], [1.0]])
    assert torch.equal(best.act(obs), fresh.act(obs))

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


# --- Atari: SB3's CnnPolicy on rlbox's Atari env -------------------------------------------------

ATARI_TINY = {
    **QUIET, "eval_episodes": 1, "final_eval_episodes": 1, "env.max_episode_frames": 400,
}  # fmt: skip


@pytest.mark.parametrize(
    ("agent", "values", "policy"),
    [
        ("sb3-ppo", {"num_envs": 2, "n_steps": 32, "batch_size": 32, "n_epochs": 1},
         "ActorCriticCnnPolicy"),
        ("sb3-dqn", {"buffer_size": 500, "learning_starts": 100}, "CnnPolicy"),
    ],
)  # fmt: skip
def test_atari_runs_train_sb3_cnn_policy_on_uint8_frames_and_score_the_true_game(
    agent, values, policy, tmp_path
):
    pytest.importorskip("ale_py")
    # rlbox.compare pits ppo against sb3-ppo: both must see these observations and this score.
    result = rlbox.train(
        agent, "ALE/Pong-v5", steps=128 if agent == "sb3-ppo" else 300, out=tmp_path,
        overrides={**ATARI_TINY, **values},
    )  # fmt: skip
    step = f"step-{result.env_steps}"
    state, _ = checkpoint.load(result.run_dir / "checkpoints" / step)
    experiment, agent_class = prepare(agent, "ALE/Pong-v5", {**ATARI_TINY, **values})
    model = build_agent(experiment, agent_class)
    model.load_state_dict(state)
    assert type(model.model.policy).__name__ == policy
    assert model.model.policy.normalize_images  # SB3 scales the uint8 frames by 1/255
    assert model.model.observation_space.dtype == np.uint8
    assert model.model.observation_space.shape == (4, 84, 84)  # channel-first: no transpose
    assert model.venv is model.vec  # and no VecTransposeImage or VecNormalize between
    # a whole (cut) game's unclipped score: an integer Pong score
    assert result.eval_return_mean == int(result.eval_return_mean)
    assert -21 <= result.eval_return_mean <= 21
    assert (result.run_dir / "metrics.csv").is_file()


def test_atari_sections_hold_the_rl_zoo_values_for_v5_and_v4_ids():
    pytest.importorskip("ale_py")
    for env_id in ("ALE/Pong-v5", "PongNoFrameskip-v4"):
        ppo, _ = prepare("sb3-ppo", env_id, {})
        c = ppo.agent_config
        assert (ppo.run.num_envs, c.n_steps, c.n_epochs, c.batch_size, c.net_arch) == (
            8, 128, 4, 256, (),
        )  # fmt: skip
        assert (c.learning_rate, c.lr_schedule, c.clip_range, c.clip_range_schedule) == (
            2.5e-4, "linear", 0.1, "linear",
        )  # fmt: skip
        dqn, _ = prepare("sb3-dqn", env_id, {})
        c = dqn.agent_config
        assert (dqn.run.num_envs, c.buffer_size, c.learning_starts, c.target_update_interval) == (
            1, 100_000, 100_000, 1000,
        )  # fmt: skip
        assert (c.train_freq, c.exploration_fraction, c.exploration_final_eps) == (4, 0.1, 0.01)
        a2c, _ = prepare("sb3-a2c", env_id, {})
        assert a2c.run.num_envs == 16 and a2c.agent_config.rms_prop_tf_like
    # the Zoo's Atari A2C optimiser: TF's RMSprop, eps 1e-5
    model = make("sb3-a2c", "ALE/Pong-v5", num_envs=2)
    optimizer = model.model.policy.optimizer
    assert type(optimizer).__name__ == "RMSpropTFLike" and optimizer.defaults["eps"] == 1e-5
