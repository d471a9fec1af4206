"""Recorded episodes: videos during training, `rlbox watch`, the best checkpoint."""

import json
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("imageio_ffmpeg")
pytest.importorskip("pygame")

import imageio.v3 as iio

import rlbox
from rlbox.errors import RlboxError
from rlbox.run.build import prepare
from rlbox.run.runner import evaluate_run
from rlbox.run.watch import watch

FAST = {"device": "cpu", "eval_episodes": 2, "final_eval_episodes": 3, "learning_starts": 100}


@pytest.fixture(scope="module")
def cartpole_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs")
    overrides = {**FAST, "eval_every": 400, "video": True}
    return rlbox.train("dqn", "CartPole-v1", steps=1_200, out=out, overrides=overrides).run_dir


def test_training_with_video_writes_decodable_mp4s(cartpole_run):
    videos = sorted(p.name for p in (cartpole_run / "videos").glob("*.mp4"))
    assert videos == ["step-1200.mp4", "step-400.mp4", "step-800.mp4"]
    frames = iio.imread(cartpole_run / "videos" / "step-1200.mp4")
    first_episode, _ = evaluate_run(cartpole_run, episodes=1)
    assert frames.shape == (
        first_episode.lengths[0] + 1,
        400,
        600,
        3,
    )  # the reset, then a step each
    assert len({frame.tobytes() for frame in frames}) > frames.shape[0] // 2  # the pole moves

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(cartpole_run), size_guidance={"images": 0})
    events.Reload()
    assert [e.step for e in events.Images("eval/video")] == [400, 800, 1200]


def test_the_best_checkpoint_is_the_best_evaluation(cartpole_run):
    meta = json.loads((cartpole_run / "checkpoints" / "best" / "meta.json").read_text())
    rows = [
        line.split(",")
        for line in (cartpole_run / "metrics.csv").read_text().splitlines()[1:]
        if line.split(",")[3]
    ]
    evals = {int(row[0]): float(row[3]) for row in rows}
    best_step = max(evals, key=lambda step: (evals[step], -step))  # the first of equal bests
    assert meta["info"]["step"] == best_step
    assert meta["info"]["eval_return_mean"] == pytest.approx(evals[best_step])


def test_watch_plays_the_evaluation_episodes_and_keeps_them(cartpole_run):
    watched = watch(cartpole_run, episodes=3, gif=True)
    evaluated, used = evaluate_run(cartpole_run, episodes=3)
    assert watched.checkpoint == used
    assert watched.result.returns.tolist() == evaluated.returns.tolist()
    names = sorted(p.name for p in watched.files)
    assert names == [f"episode-{i}.{ext}" for i in range(3) for ext in ("gif", "mp4")]
    for i in range(3):
        mp4 = iio.imread(watched.files[0].parent / f"episode-{i}.mp4")
        assert mp4.shape[0] == evaluated.lengths[i] + 1
    gif = iio.imread(watched.files[0].parent / "episode-0.gif")
    assert gif.shape[1:3] == (200, 300) and np.ptp(gif) > 0


def test_watch_live_without_a_display_says_so(cartpole_run, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    with pytest.raises(RlboxError, match="--live needs a display"):
        watch(cartpole_run, live=True)


def test_video_of_an_env_without_frames_is_refused():
    with pytest.raises(RlboxError, match="cannot render rgb_array"):
        prepare("dqn", "rlbox/ConstantReward-v0", {"video": True})


@pytest.mark.parametrize("damage", ["missing", "corrupt"])
def test_watch_names_a_missing_or_corrupt_checkpoint(cartpole_run, tmp_path, damage):
    import shutil

    run_dir = tmp_path / "run"
    shutil.copytree(cartpole_run, run_dir)
    state = run_dir / "checkpoints" / "step-1200" / "state.safetensors"
    if damage == "missing":
        state.unlink()
    else:
        state.write_bytes(state.read_bytes()[:100])
    done = subprocess.run(
        [sys.executable, "-m", "rlbox.cli", "watch", str(run_dir), "--episodes", "1"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1
    assert str(state) in done.stderr


def test_watch_works_for_a_baseline_agent(tmp_path):
    pytest.importorskip("stable_baselines3")
    overrides = {k: v for k, v in FAST.items() if k != "learning_starts"}
    result = rlbox.train("sb3-ppo", "CartPole-v1", steps=512, out=tmp_path,
                         overrides={**overrides, "n_steps": 64})  # fmt: skip
    run_dir = result.run_dir
    watched = watch(run_dir, episodes=2)
    assert watched.result.returns.tolist() == evaluate_run(run_dir, episodes=2)[0].returns.tolist()
    assert [p.name for p in watched.files] == ["episode-0.mp4", "episode-1.mp4"]
