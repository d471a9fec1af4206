"""The TF-Agents adapters: the Gymnasium PyEnvironment, the Agent interface, step accounting,
schedules over the horizon, checkpoints, errors, and that TensorFlow stays out of runs that do
not use it."""

import importlib.util
import subprocess
import sys

import gymnasium as gym
import numpy as np
import pytest
import torch

# Not importorskip: importing tf_agents here would import TensorFlow before rlbox sets
# TF_USE_LEGACY_KERAS.
if importlib.util.find_spec("tf_agents") is None:
    pytest.skip("the tfagents extra is not installed (make tfagents)", allow_module_level=True)

import rlbox
from rlbox.envs import PROBES
from rlbox.errors import MissingExtraError, RlboxError
from rlbox.run import checkpoint
from rlbox.run.build import build_agent, prepare
from rlbox.run.runner import evaluate_run, resume

QUIET = {"device": "cpu", "eval_every": 10**9, "eval_episodes": 2, "final_eval_episodes": 4}
# Small and quick: the probes need no capacity; most of a test's time is TF tracing.
SMALL = {"fc_layer_params": [32], "num_envs": 4}
OFF_POLICY = {**SMALL, "learning_starts": 100, "train_freq": 4, "batch_size": 32}


def make(agent, env_id, **values):
    experiment, agent_class = prepare(agent, env_id, {**QUIET, **values})
    return build_agent(experiment, agent_class)


# --- the adapter -------------------------------------------------------------------------------


def play(env_id, actions, seed):
    """One episode of `gymnasium.make(env_id)`: (rewards, discounts, step types, observations)
    as TF-Agents should see them (FIRST=0, MID=1, LAST=2; discount 0 only on termination)."""
    env = gym.make(env_id)
    obs, _ = env.reset(seed=seed)
    rewards, discounts, types, observations = [0.0], [1.0], [0], [obs]
    for action in actions:
        obs, reward, terminated, truncated, _ = env.step(action)
        rewards.append(reward)
        discounts.append(0.0 if terminated else 1.0)
        types.append(2 if terminated or truncated else 1)
        observations.append(obs)
        if terminated or truncated:
            break
    return rewards, discounts, types, observations


@pytest.mark.parametrize("env_id", [*PROBES, "CartPole-v1", "Pendulum-v1"])
def test_adapter_episode_matches_gymnasium(env_id):
    from rlbox.agents.tfagents.env import GymnasiumPyEnvironment

    space = gym.make(env_id).action_space
    space.seed(0)
    actions = [space.sample() for _ in range(600)]
    expected = play(env_id, actions, seed=3)
    adapted = GymnasiumPyEnvironment(gym.make(env_id), seed=3)
    steps = [adapted.reset()]
    for action in actions[: len(expected[0]) - 1]:
        steps.append(adapted.step(np.asarray(action)))
    assert [float(s.reward) for s in steps] == pytest.approx(expected[0])
    assert [float(s.discount) for s in steps] == expected[1]
    assert [int(s.step_type) for s in steps] == expected[2]
    for step, obs in zip(steps, expected[3], strict=True):
        assert np.allclose(step.observation, obs)
    assert adapted.steps == len(steps) - 1
    assert adapted.finished == [(pytest.approx(sum(expected[0])), len(steps) - 1)]
    # the next step starts a new episode and ignores its action (TF-Agents' auto-reset)
    assert int(adapted.step(np.asarray(actions[0])).step_type) == 0
    assert adapted.steps == len(steps) - 1


def test_truncation_is_last_with_discount_one_and_termination_discount_zero():
    from rlbox.agents.tfagents.env import GymnasiumPyEnvironment

    truncated = GymnasiumPyEnvironment(gym.make("rlbox/Truncated-v0"), seed=0)
    truncated.reset()
    steps = [truncated.step(np.asarray(0)) for _ in range(5)]
    assert [int(s.step_type) for s in steps] == [1, 1, 1, 1, 2]
    assert [float(s.discount) for s in steps] == [1.0] * 5
    terminated = GymnasiumPyEnvironment(gym.make("rlbox/ConstantReward-v0"), seed=0)
    terminated.reset()
    last = terminated.step(np.asarray(0))
    assert (int(last.step_type), float(last.discount), float(last.reward)) == (2, 0.0, 1.0)


def test_adapter_specs_and_seeding():
    from rlbox.agents.tfagents.env import BatchedGymnasium

    envs = BatchedGymnasium("CartPole-v1", 3, seed=7)
    assert envs.env.action_spec().dtype == np.int64
    assert (envs.env.action_spec().minimum, envs.env.action_spec().maximum) == (0, 1)
    assert envs.env.observation_spec().dtype == np.float32
    first = envs.env.reset().observation
    reference = gym.make_vec("CartPole-v1", num_envs=3, vectorization_mode="sync")
    assert np.allclose(first, reference.reset(seed=7)[0])  # copy i seeded 7 + i
    box = BatchedGymnasium("rlbox/TargetAction-v0", 1, seed=0).env.action_spec()
    assert box.dtype == np.float32 and box.shape == (1,)
    assert (float(box.minimum[0]), float(box.maximum[0])) == (-1.0, 1.0)


def test_dqn_n_step_windows_with_a_truncation_inside_get_weight_zero():
    from types import SimpleNamespace

    from rlbox.agents.tfagents.dqn import TFADQN

    owner = SimpleNamespace(config=SimpleNamespace(n_step_update=3))
    first, mid, last = 0, 1, 2
    # Windows of 4 time steps; `discount[:, t]` is the discount of time step t + 1.
    step_type = np.array(
        [
            [mid, mid, mid, mid],  # no episode end: kept
            [mid, last, first, mid],  # truncated at step 1: the return would run on, dropped
            [mid, last, first, mid],  # terminated at step 1: discount 0 cuts it, kept
            [mid, mid, mid, last],  # truncated at the last step: bootstraps there, kept
            [last, first, mid, mid],  # a boundary first: TF-Agents masks it itself, kept
            [mid, mid, last, first],  # truncated at step 2: dropped
        ]
    )
    discount = np.array(
        [
            [1, 1, 1, 1],
            [1, 1, 1, 1],
            [0, 1, 1, 1],
            [1, 1, 1, 1],
            [1, 1, 1, 1],
            [1, 1, 1, 1],
        ],
        dtype=np.float32,
    )
    experience = SimpleNamespace(step_type=step_type, discount=discount)
    weights = TFADQN.truncation_weights(owner, experience).numpy()
    assert weights.tolist() == [1.0, 0.0, 1.0, 1.0, 1.0, 0.0]


# --- the agents --------------------------------------------------------------------------------


# The probes' configs are tuned to learn in a few hundred steps: large learning rates, few
# epochs (TF-Agents traces one graph per epoch of PPO) and small networks; most of a test's
# time is TF tracing.
@pytest.mark.parametrize(
    ("agent", "values"),
    [
        (
            "tfa-c51",
            {
                **OFF_POLICY,
                "target_update_period": 1,
                "learning_rate": 1e-2,
                "min_q_value": -2.0,
                "max_q_value": 2.0,
            },
        ),
        ("tfa-ppo", {**SMALL, "n_steps": 16, "num_epochs": 2, "learning_rate": 1e-2}),
        ("tfa-reinforce", {**SMALL, "episodes_per_update": 16, "learning_rate": 3e-2}),
    ],
)
def test_agents_learn_a_probe(agent, values):
    model = make(agent, "rlbox/ActionObsReward-v0", steps=600, **values)
    model.learn(600)
    obs = torch.tensor([[-1.0], [1.0]])
    assert model.act(obs).tolist() == [0, 1]


def test_dqn_learns_continues_past_the_horizon_holding_its_schedules_and_restores():
    values = {
        **OFF_POLICY, "target_update_period": 1, "learning_rate": 1e-2, "lr_schedule": "linear",
        "exploration_fraction": 0.5, "exploration_initial_eps": 1.0, "exploration_final_eps": 0.1,
    }  # fmt: skip
    model = make("tfa-dqn", "rlbox/ActionObsReward-v0", steps=600, **values)  # horizon 600
    first = model.learn(200)
    assert model.env_steps == 200
    assert first["episodes"] == 200  # one-step episodes
    assert first["updates"] == (200 - 100) // 4
    assert first["epsilon"] == pytest.approx(1.0 - 0.9 * 200 / 300)  # over the horizon
    assert first["learning_rate"] == pytest.approx(1e-2 * (1 - 200 / 600))
    model.learn(200)
    assert model.env_steps == 400  # continued, not restarted
    past = model.learn(400)  # a resume to a larger budget
    assert model.env_steps == 800  # the steps asked for, not capped at the horizon
    assert past["episodes"] == 400 and past["updates"] == 400 // 4
    assert past["epsilon"] == pytest.approx(0.1) and past["learning_rate"] == 0.0  # held
    assert float(model.adam.learning_rate.numpy()) == 0.0
    obs = torch.tensor([[-1.0], [1.0]])
    assert model.act(obs).tolist() == [0, 1]  # learned the probe

    state = model.state_dict()
    assert any(name.endswith(".index") for name in state) and "checkpoint" in state
    assert any(name.endswith(".index") for name in state["buffer"])  # the replay, apart
    fresh = make("tfa-dqn", "rlbox/ActionObsReward-v0", steps=600, **values)
    fresh.load_state_dict(state)
    assert fresh.env_steps == 800
    assert int(fresh.train_step.numpy()) == int(model.train_step.numpy()) == (800 - 100) // 4
    assert int(fresh.replay().buffer.num_frames()) == int(model.replay().buffer.num_frames())
    assert torch.equal(fresh.act(obs), model.act(obs))
    # checkpoints/best/ holds the state without its "buffer": enough to act, an empty buffer
    best = make("tfa-dqn", "rlbox/ActionObsReward-v0", steps=600, **values)
    best.load_state_dict({k: v for k, v in state.items() if k != "buffer"})
    assert int(best.replay().buffer.num_frames()) == 0
    assert torch.equal(best.act(obs), model.act(obs))


def test_sac_learns_the_mean_of_a_box_action():
    model = make("tfa-sac", "rlbox/TargetAction-v0", steps=1_200, learning_rate=1e-2, **OFF_POLICY)
    model.learn(1_200)
    action = model.act(torch.tensor([[-1.0], [1.0]]))
    assert action.shape == (2, 1)
    assert action[:, 0].tolist() == pytest.approx([-0.5, 0.5], abs=0.2)


def test_run_checkpoints_evaluates_and_resumes(tmp_path):
    values = {**QUIET, **OFF_POLICY, "checkpoint_every": 100, "log_every": 100}
    result = rlbox.train("tfa-dqn", "rlbox/ActionReward-v0", steps=200, out=tmp_path,
                         overrides=values)  # fmt: skip
    run_dir = result.run_dir
    assert 200 <= result.env_steps < 204
    saved = checkpoint.list_checkpoints(run_dir / "checkpoints")
    assert [p.name for p in saved] == ["step-100", "step-200"]
    # TF-Agents' own Checkpointer files, as they are, beside rlbox's metadata
    names = sorted(p.name for p in saved[-1].iterdir())
    assert "checkpoint" in names and any(n.endswith(".index") for n in names)
    assert "buffer.checkpoint" in names  # the replay buffer's own Checkpointer files
    assert (run_dir / "metrics.csv").read_text().splitlines()[0].startswith("step,")
    evaluated, used = evaluate_run(run_dir, episodes=4)
    assert used.name == "step-200" and evaluated.mean == pytest.approx(result.eval_return_mean)
    resumed = resume(run_dir, steps=300)
    assert 300 <= resumed.env_steps < 304


# --- errors and imports ------------------------------------------------------------------------


def test_dqn_family_refuses_box_actions_and_names_the_agents_that_fit():
    experiment, agent_class = prepare("tfa-dqn", "Pendulum-v1", QUIET)
    with pytest.raises(RlboxError, match=r"tfa-dqn needs a Discrete action space.*tfa-sac"):
        build_agent(experiment, agent_class)
    experiment, agent_class = prepare("tfa-sac", "CartPole-v1", QUIET)
    with pytest.raises(RlboxError, match=r"tfa-sac needs a Box action space.*tfa-dqn"):
        build_agent(experiment, agent_class)


def test_missing_extra_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "tf_agents", None)  # as if not installed
    with pytest.raises(MissingExtraError, match="tf-agents is not installed; run: make tfagents"):
        prepare("tfa-ppo", "CartPole-v1", {})


def test_cli_missing_tensorflow_exits_2(tmp_path):
    code = (
        "import sys; sys.modules['tensorflow'] = None; "
        "from rlbox.cli import main; "
        "main(['train', 'tfa-dqn', 'CartPole-v1', '--out', sys.argv[1]])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "error: tensorflow is not installed; run: make tfagents"
    ]
    assert list(tmp_path.iterdir()) == []


def test_rlbox_and_own_agents_do_not_import_tensorflow():
    code = (
        "import sys, rlbox; from rlbox.run.build import prepare, build_agent; "
        "e, c = prepare('dqn', 'CartPole-v1', {'device': 'cpu'}); build_agent(e, c); "
        "e, c = prepare('dqn', 'Pendulum-v1', {'device': 'cpu'}); "
        "exec('try: build_agent(e, c)\\nexcept Exception: pass'); "  # lists tfa-* agents
        "print(sorted(m for m in ('tensorflow', 'tf_agents') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_compare_runs_the_three_dqn_baselines(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "rlbox.cli", "compare", "dqn", "sb3-dqn", "tfa-dqn",
         "--env", "rlbox/ActionReward-v0", "--seeds", "1", "--steps", "100", "--jobs", "2",
         "--set", "learning_starts=50", "--set", "eval_every=100", "--set", "eval_episodes=2",
         "--set", "final_eval_episodes=2", "--out", str(tmp_path / "cmp")],
        capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    summary = (tmp_path / "cmp" / "summary.md").read_text()
    for agent in ("dqn", "sb3-dqn", "tfa-dqn"):
        assert f"| {agent} " in summary
    assert (tmp_path / "cmp" / "curves.png").is_file()
