"""Atari through ale-py: the preprocessing, the training-only transforms, evaluation of true
scores, the ids' sticky actions and the bad inputs. Tiny budgets: a second or two each."""

import socket

import numpy as np
import pytest
import torch

pytest.importorskip("ale_py")

from rlbox import envs
from rlbox.envs.atari import resolved_options

NOOP, FIRE = 0, 1


def play(env, steps, action=None, seed=0):
    """Step a training env with a fixed or random action; the Steps."""
    generator = torch.Generator().manual_seed(seed)
    n = env.single_action_space.n
    out = []
    for _ in range(steps):
        actions = (
            torch.randint(n, (env.num_envs,), generator=generator)
            if action is None
            else torch.full((env.num_envs,), action)
        )
        out.append(env.step(actions))
    return out


@pytest.mark.parametrize("env_id", ["ALE/Pong-v5", "PongNoFrameskip-v4"])
def test_observations_are_stacks_of_84x84_grayscale_bytes_in_training_and_evaluation(env_id):
    env = envs.make(env_id, num_envs=2, seed=0)
    obs = env.reset(seed=0)
    assert obs.shape == (2, 4, 84, 84) and obs.dtype == torch.uint8
    step = play(env, 3)[-1]
    assert step.obs.shape == step.final_obs.shape == (2, 4, 84, 84)
    evaluation = envs.make_eval(env_id)
    first, _ = evaluation.reset(seed=0)
    assert first.shape == (4, 84, 84) and first.dtype == np.uint8
    assert evaluation.observation_space == env.single_observation_space
    assert evaluation.action_space == env.single_action_space
    env.close()
    evaluation.close()


def test_the_stack_shifts_by_one_frame_per_step():
    env = envs.make("ALE/Breakout-v5", num_envs=1, seed=0)
    before = env.reset(seed=0)
    after = play(env, 1, FIRE)[0].obs
    assert torch.equal(after[0, :3], before[0, 1:])


def test_max_pooling_takes_the_brighter_of_the_last_two_frames():
    """Same seed, same actions, no sticky actions: the pooled frame is the pixelwise max of the
    last two frames, so it is never darker than the last frame alone and sometimes brighter."""
    common = {"repeat_action_probability": 0.0, "noop_max": 0}
    pooled = envs.make("ALE/Breakout-v5", num_envs=1, seed=3, max_pool=True, **common)
    plain = envs.make("ALE/Breakout-v5", num_envs=1, seed=3, max_pool=False, **common)
    pooled.reset(seed=3), plain.reset(seed=3)
    a = torch.stack([s.obs[0, -1] for s in play(pooled, 40, seed=1)])
    b = torch.stack([s.obs[0, -1] for s in play(plain, 40, seed=1)])
    assert (a >= b).all() and (a > b).any()


@pytest.mark.parametrize(("fire_reset", "moves"), [(True, True), (False, False)])
def test_fire_reset_launches_the_ball(fire_reset, moves):
    """In Breakout nothing moves until FIRE; with fire_reset the reset presses it."""
    env = envs.make(
        "ALE/Breakout-v5", num_envs=1, seed=0, fire_reset=fire_reset, noop_max=0,
        repeat_action_probability=0.0,
    )  # fmt: skip
    first = env.reset(seed=0)[0, -1]  # the newest frame (the older ones are zero padding)
    frames = [step.obs[0, -1] for step in play(env, 8, NOOP)]
    assert any(not torch.equal(first, frame) for frame in frames) is moves


def test_a_lost_life_ends_a_learning_episode_but_not_the_game():
    env = envs.make("ALE/Breakout-v5", num_envs=1, seed=0, repeat_action_probability=0.0)
    env.reset(seed=0)
    steps = play(env, 600, FIRE)
    terminated = [bool(s.terminated[0]) for s in steps]
    games = [bool(s.episode_end[0]) for s in steps]
    assert sum(games) >= 1 and sum(terminated) >= 5 * sum(games)  # five lives a game
    first_life = terminated.index(True)
    assert not games[first_life]  # the game went on
    assert torch.equal(steps[first_life].final_obs, steps[first_life].obs)  # no reset


def test_evaluation_plays_whole_games_and_scores_unclipped_rewards():
    """Space Invaders pays 5 to 30 points an invader: training sees their sign, the training
    game score and the evaluation score the points themselves; a lost life ends no evaluation
    episode."""
    options = {"max_episode_frames": 2000, "repeat_action_probability": 0.0}
    env = envs.make("ALE/SpaceInvaders-v5", num_envs=1, seed=0, **options)
    env.reset(seed=0)
    steps = play(env, 600, seed=2)
    rewards = torch.cat([s.reward for s in steps])
    assert set(rewards.tolist()) <= {0.0, 1.0} and rewards.sum() > 0
    scores = [float(s.episode_return[0]) for s in steps if s.episode_end[0]]
    assert scores and max(scores) > rewards.sum() / len(scores)  # points, not their sign

    evaluation = envs.make_eval("ALE/SpaceInvaders-v5", **options)
    evaluation.reset(seed=0)
    lives, total, rewards_seen, done, steps_taken = [], 0.0, set(), False, 0
    generator = np.random.default_rng(2)
    while not done:
        _, reward, terminated, truncated, info = evaluation.step(int(generator.integers(6)))
        total += reward
        rewards_seen.add(reward)
        lives.append(info["lives"])
        done = terminated or truncated
        steps_taken += 1
    assert max(rewards_seen) >= 5.0 and total > 0
    assert min(lives[:-1]) < max(lives)  # lives were lost and the episode went on


def test_v5_ids_have_sticky_actions_and_v4_ids_none():
    import gymnasium as gym

    assert resolved_options(gym.spec("ALE/Pong-v5"), {})["repeat_action_probability"] == 0.25
    assert resolved_options(gym.spec("PongNoFrameskip-v4"), {})["repeat_action_probability"] == 0
    given = {"repeat_action_probability": 0.1}
    assert (
        resolved_options(gym.spec("PongNoFrameskip-v4"), given)["repeat_action_probability"] == 0.1
    )


def test_the_roms_ship_in_the_wheel_and_nothing_is_downloaded(monkeypatch):
    import ale_py
    from ale_py import roms

    def no_network(*args, **kwargs):
        raise AssertionError("an Atari env tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    path = roms.get_rom_path("pong")
    assert path is not None and str(path).startswith(str(ale_py.__path__[0]))
    env = envs.make("ALE/Pong-v5", num_envs=1, seed=0)
    play(env, 2)
    envs.make_eval("PongNoFrameskip-v4").reset(seed=0)


def test_a_run_records_every_preprocessing_option_and_builds_the_nature_cnn():
    from rlbox.nn.cnn.nature import NatureCNN
    from rlbox.run.build import build_agent, prepare

    experiment, agent_class = prepare(
        "ppo", "ALE/Pong-v5", {"num_envs": 1, "device": "cpu", "env.max_episode_frames": 400}
    )
    options = experiment.to_dict()["env_options"]
    assert options["frame_skip"] == 4 and options["stack"] == 4 and options["episodic_life"]
    assert options["max_episode_frames"] == 400 and options["repeat_action_probability"] == 0.25
    assert experiment.to_dict()["backbone"] == {
        "name": "nature_cnn", "channels": [32, 64, 64], "features": 512
    }  # fmt: skip
    agent = build_agent(experiment, agent_class)
    assert isinstance(agent.net.actor_body, NatureCNN) and agent.net.critic_body is None
    action = agent.act(agent.env.reset(seed=0))
    assert action.shape == (1,) and 0 <= int(action) < 6


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["ppo", "ALE/Pong-v5", "--backend", "torch"], "has no torch-native twin; envs that have"),
        (
            ["ppo", "ALE/Pongg-v5"],
            "unknown environment 'ALE/Pongg-v5' (did you mean 'ALE/Pong-v5'?)",
        ),
        (["tfa-dqn", "ALE/Pong-v5"], "tfa-dqn does not train on Atari"),
        (["ppo", "ALE/Pong-v5", "--set", "env.frame_skip=0"], "env.frame_skip: must be >= 1"),
        (["ppo", "ALE/Pong-v5", "--set", "env.frameskip=2"], "did you mean env.frame_skip?"),
        (["ppo", "Pong-v4"], "skips a random number of frames"),
    ],
)
def test_bad_atari_input_is_one_line_and_exit_2(tmp_path, capsys, args, message):
    from rlbox.cli import main

    with pytest.raises(SystemExit) as exit:
        main(["train", *args, "--out", str(tmp_path / "runs")])
    err = capsys.readouterr().err
    assert exit.value.code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "runs").exists()
