"""The run directory's readers: what reports and grids see of a run, and their one-line errors."""

import json

import pytest
import yaml

from rlbox.errors import RlboxError
from rlbox.run import rundir

CONFIG = {"agent": "dqn", "env": "CartPole-v1", "run": {"seed": 3}, "hyperparams": {"lr": 0.1}}
RESULT = {"env_steps": 200, "eval_return_mean": 9, "eval_return_std": 1, "train_seconds": 2}


@pytest.fixture
def run_dir(tmp_path):
    run_dir = tmp_path / "dqn-CartPole-v1-s3"
    run_dir.mkdir()
    (run_dir / rundir.CONFIG_FILE).write_text(yaml.safe_dump(CONFIG))
    (run_dir / rundir.METRICS_FILE).write_text(
        "step,time,eval_return_mean,eval_return_std,loss\n100,1.0,,,0.5\n200,2.0,9.0,1.0,0.4\n"
    )
    (run_dir / rundir.VIDEOS_DIR).mkdir()
    for name in ("step-200.mp4", "step-20.mp4", "step-x.mp4", "other.mp4"):
        (run_dir / rundir.VIDEOS_DIR / name).write_bytes(b"")
    return run_dir


def test_readers_give_what_the_runner_wrote(run_dir):
    assert rundir.read_config(run_dir) == CONFIG
    assert rundir.read_identity(run_dir) == {"agent": "dqn", "env": "CartPole-v1", "lr": 0.1}
    assert rundir.read_result(run_dir) is None  # unfinished
    (run_dir / rundir.RESULT_FILE).write_text(json.dumps(RESULT))
    result = rundir.read_result(run_dir)
    assert result == RESULT and isinstance(result["eval_return_mean"], float)
    metrics = rundir.read_metrics(run_dir)
    assert list(metrics["step"]) == [100, 200]
    assert list(metrics["eval_return_mean"].isna()) == [True, False]
    assert rundir.videos(run_dir) == [
        (20, run_dir / "videos" / "step-20.mp4"),
        (200, run_dir / "videos" / "step-200.mp4"),
    ]
    assert rundir.checkpoint_infos(run_dir) == []


def test_run_dirs_are_the_folders_with_a_config(run_dir, tmp_path):
    (tmp_path / "logs").mkdir()
    assert rundir.is_run_dir(run_dir) and not rundir.is_run_dir(tmp_path / "logs")
    assert rundir.run_dirs_in(tmp_path) == [run_dir]
    assert rundir.run_dirs_in(tmp_path / "absent") == []


@pytest.mark.parametrize(
    ("name", "content", "read", "error"),
    [
        ("config.yaml", None, rundir.read_config, "is missing"),
        ("config.yaml", "agent: [dqn\n", rundir.read_config, "is unreadable"),
        ("config.yaml", "agent: dqn\nenv: CartPole-v1\n", rundir.read_config, "is unreadable"),
        (
            "config.yaml",
            "agent: dqn\nenv: E\nrun: {seed: 0}\n",
            rundir.read_identity,
            "is unreadable",
        ),
        ("result.json", "{", rundir.read_result, "is unreadable"),
        ("result.json", '{"env_steps": 200}', rundir.read_result, "is unreadable"),
        ("metrics.csv", None, rundir.read_metrics, "is missing"),
        ("metrics.csv", "step,loss\n1,1.0\n", rundir.read_metrics, "is unreadable"),
        ("metrics.csv", "", rundir.read_metrics, "is unreadable"),
    ],
)
def test_a_bad_file_is_one_line_naming_it(run_dir, name, content, read, error):
    if content is None:
        (run_dir / name).unlink()
    else:
        (run_dir / name).write_text(content)
    with pytest.raises(RlboxError, match=f"/{name} {error}") as raised:
        read(run_dir)
    assert "\n" not in str(raised.value)


def test_a_run_not_evaluated_yet_reads_with_empty_evaluation_columns(run_dir):
    (run_dir / rundir.METRICS_FILE).write_text("step,time,loss\n100,1.0,0.5\n")
    metrics = rundir.read_metrics(run_dir)
    assert list(metrics["step"]) == [100] and metrics["eval_return_mean"].isna().all()
