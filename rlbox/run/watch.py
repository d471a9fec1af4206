"""`rlbox watch`: play a trained agent's episodes on the evaluation env and keep them as videos.

The episodes are those of `rlbox eval` for the same checkpoint: the same evaluation function,
the same seeds, so the returns printed are the ones the evaluation reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rlbox.errors import RlboxError
from rlbox.run.build import load_agent, read_experiment
from rlbox.run.evaluation import EvalResult
from rlbox.run.rundir import resolve_checkpoint
from rlbox.run.runner import evaluate_agent


@dataclass(frozen=True)
class Watched:
    result: EvalResult
    checkpoint: Path
    files: list[Path]


def watch(
    run_dir: str | Path,
    *,
    episodes: int = 3,
    which: str | Path | None = None,
    gif: bool = False,
    live: bool = False,
) -> Watched:
    """Play `episodes` deterministic episodes of the run's checkpoint `which` (last, best or a
    directory); write them to RUN/videos/watch-<checkpoint>/episode-<i>.mp4 (and .gif), or show
    them in windows with `live`."""
    from rlbox.run.video import EpisodeFiles, check_video_support, has_display, render_fps

    run_dir = Path(run_dir)
    experiment = read_experiment(run_dir)
    used = resolve_checkpoint(run_dir, which)
    if live:
        if not has_display():
            raise RlboxError("--live needs a display and there is none (DISPLAY is not set); "
                             "without --live the episodes are written as MP4 files")  # fmt: skip
        agent = load_agent(experiment, used)
        result = evaluate_agent(experiment, agent, episodes, render_mode="human")
        return Watched(result, used, [])
    env_id, options = experiment.env_id, experiment.env_options
    check_video_support(env_id, options)
    agent = load_agent(experiment, used)
    files = EpisodeFiles(run_dir / "videos" / f"watch-{used.name}", render_fps(env_id, options),
                         gif=gif)  # fmt: skip
    try:
        result = evaluate_agent(experiment, agent, episodes, on_frame=files.add)
    finally:
        paths = files.close()
    return Watched(result, used, paths)
