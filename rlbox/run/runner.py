"""The experiment runner: drives `agent.learn` in chunks, evaluates, logs, checkpoints and
resumes; `train`, `resume` and `evaluate_run` are the Python API behind the CLI."""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from rlbox.agent import Agent
from rlbox.config.experiment import Experiment
from rlbox.config.tuned import untuned_notice
from rlbox.errors import CheckpointError
from rlbox.run import checkpoint, rundir, tracking
from rlbox.run.build import (
    build_agent,
    check_out_dir,
    load_agent,
    prepare,
    read_experiment,
    resolve_device,
    transfer_backbone,
)
from rlbox.run.evaluation import EvalResult, evaluate
from rlbox.run.logger import MetricsLog, write_atomic
from rlbox.run.rundir import BEST, CONFIG_FILE, RESULT_FILE, create_run_dir, resolve_checkpoint

# Evaluation episodes never share seeds with training envs, and the episodes that pick `best`
# (the periodic evaluations) are not those that report a score (the final evaluation and
# `rlbox eval`), so the reported score of `best` is not the maximum it was selected as.
SELECT_SEED_OFFSET = 1_000_000
REPORT_SEED_OFFSET = 2_000_000

# Called after every evaluation with the step and that row's metrics (eval_return_mean, ...);
# returning True stops the run there (early stopping; a tuner prunes through it).
Callback = Callable[[int, dict[str, Any]], bool | None]


@dataclass(frozen=True)
class RunResult:
    run_dir: Path
    env_steps: int
    eval_return_mean: float
    eval_return_std: float
    train_seconds: float
    stopped: bool = False  # a callback stopped the run before its budget

    def to_dict(self) -> dict[str, Any]:
        return {**dataclasses.asdict(self), "run_dir": str(self.run_dir)}


def train(
    agent: str,
    env_id: str,
    *,
    steps: int | None = None,
    seed: int | None = None,
    device: str | None = None,
    num_envs: int | None = None,
    overrides: dict[str, Any] | None = None,
    out: str | Path = "runs",
    run_name: str | None = None,
    progress: bool = False,
    callbacks: Sequence[Callback] = (),
) -> RunResult:
    """Train `agent` on `env_id` and return the final evaluation; see `rlbox train --help`.

    The run goes to `out/<agent>-<env>-s<seed>-<time>/`, or to `out/<run_name>/` when given.
    Each of `callbacks` is called after every evaluation as `callback(step, metrics)`; one that
    returns True stops the run: it is checkpointed and evaluated on the reporting seeds as at
    its budget, and `resume` continues it.
    """
    values = dict(overrides or {})
    given = {"steps": steps, "seed": seed, "device": device, "num_envs": num_envs}
    values.update({k: v for k, v in given.items() if v is not None})
    check_out_dir(Path(out))
    experiment, agent_class = prepare(agent, env_id, values)
    built = build_agent(experiment, agent_class)  # the last check of the run's inputs
    notice = untuned_notice(agent, env_id, str(experiment.run.backend))
    if notice is not None:
        print(f"rlbox: {notice}", file=sys.stderr)
    if experiment.backbone is not None and experiment.backbone.use.init_from:
        transfer_backbone(built, experiment)  # a resume finds these weights in its checkpoint
    run_dir = create_run_dir(Path(out), experiment, run_name)
    return Runner(experiment, built, run_dir, progress, callbacks=callbacks).run()


def resume(
    run_dir: str | Path,
    *,
    steps: int | None = None,
    progress: bool = False,
    callbacks: Sequence[Callback] = (),
) -> RunResult:
    """Continue a run from its newest checkpoint to its step budget (or a new `steps`).

    Every value of the run's config.yaml is kept, its schedule horizon too, so that schedules
    continue where they stopped; only `steps` changes. If the newest checkpoint does not load,
    the one before it is used, and a line on stderr says so.
    """
    run_dir = Path(run_dir)
    experiment = read_experiment(run_dir)
    if steps is not None:
        experiment = dataclasses.replace(
            experiment, run=dataclasses.replace(experiment.run, steps=steps)
        )
    # Only the process that continues a run repairs its checkpoints: `eval` and `report` may
    # read a run that is still saving.
    for line in checkpoint.recover(run_dir / "checkpoints"):
        print(f"rlbox: {line}", file=sys.stderr)
    result_path = run_dir / RESULT_FILE
    if result_path.is_file():
        done = json.loads(result_path.read_text())
        if done["env_steps"] >= experiment.run.steps:
            return RunResult(**{**done, "run_dir": run_dir, "stopped": False})
    agent, info = load_newest(experiment, run_dir)
    if steps is not None:
        write_atomic(run_dir / CONFIG_FILE, yaml.safe_dump(experiment.to_dict(), sort_keys=False))
    seconds = info.get("train_seconds", 0.0)
    return Runner(experiment, agent, run_dir, progress, seconds, callbacks).run()


def load_newest(experiment: Experiment, run_dir: Path) -> tuple[Agent, dict[str, Any]]:
    """The agent restored from the newest step-N checkpoint that loads, and that checkpoint's
    info; each one skipped is named on stderr."""
    saved = checkpoint.list_checkpoints(run_dir / "checkpoints")
    if not saved:
        raise CheckpointError(f"{run_dir} has no checkpoint to resume from")
    for path in reversed(saved):
        try:
            return load_agent(experiment, path, with_info=True)
        except CheckpointError as error:
            print(f"rlbox: {error}; trying the checkpoint before it", file=sys.stderr)
    raise CheckpointError(f"none of the {len(saved)} checkpoints of {run_dir} loads")


class Runner:
    """Drives `agent.learn` in chunks: each chunk ends at the next log row, evaluation or
    checkpoint. `train_seconds_before`: training time of the run before this process."""

    def __init__(
        self,
        experiment: Experiment,
        agent: Agent,
        run_dir: Path,
        progress: bool,
        train_seconds_before: float = 0.0,
        callbacks: Sequence[Callback] = (),
    ) -> None:
        self.experiment = experiment
        self.callbacks = list(callbacks)
        self.agent = agent
        self.run_dir = run_dir
        self.show_progress = progress
        self.train_seconds_before = float(train_seconds_before)
        tracker = None
        if tracking.is_enabled():
            tracker = tracking.Tracker(run_dir, rundir.read_config(run_dir))
        # TensorBoard drops what a killed process logged after the checkpoint resumed from
        self.log = MetricsLog(
            run_dir, purge_step=agent.env_steps + 1 if agent.env_steps else None, tracker=tracker
        )
        self.log.load(up_to_step=agent.env_steps)
        previous = self.log.rows[-1] if self.log.rows else {}
        self.elapsed_before = float(previous.get("time", 0.0))
        evals = [r["eval_return_mean"] for r in self.log.rows if "eval_return_mean" in r]
        self.last_eval = evals[-1] if evals else None
        self.evaluations = len(evals)
        best = self.run_dir / "checkpoints" / BEST
        self.best = checkpoint.load(best)[1].get("eval_return_mean") if best.is_dir() else None

    def evaluate(self, episodes: int, step: int, seed_offset: int, record: bool) -> EvalResult:
        """Evaluate on the seeds from `seed_offset` on; with `record`, keep the first episode as
        videos/step-<step>.mp4 and in TensorBoard."""
        seed = self.experiment.run.seed + seed_offset
        if not record:
            return evaluate_agent(self.experiment, self.agent, episodes, seed=seed)
        from rlbox.run.video import render_fps, write_mp4

        frames: list = []
        result = evaluate_agent(
            self.experiment, self.agent, episodes, seed=seed,
            on_frame=lambda _, frame: frames.append(frame), render_copies=1,
        )  # fmt: skip
        fps = render_fps(self.experiment.env_id, self.experiment.env_options)
        write_mp4(self.run_dir / "videos" / f"step-{step}.mp4", frames, fps)
        if self.log.tracker is not None:
            self.log.tracker.video(self.run_dir / "videos" / f"step-{step}.mp4", step)
        if self.log.writer is not None:
            video = torch.from_numpy(np.stack(frames)).permute(0, 3, 1, 2).unsqueeze(0)
            self.log.writer.add_video("eval/video", video, step, fps=fps)
        return result

    def evaluate_at(self, step: int, final: bool) -> EvalResult:
        """The evaluation of a row: the periodic one on the selection seeds, which may make a
        new `best`; at the budget also the final one on the reporting seeds, which the row and
        result.json report."""
        run = self.experiment.run
        video = run.video and self.evaluations % run.video_every == 0
        self.evaluations += 1
        selection = self.evaluate(run.eval_episodes, step, SELECT_SEED_OFFSET, video and not final)
        if self.best is None or selection.mean > self.best:
            self.best = selection.mean
            self.save_checkpoint(BEST, eval_return_mean=selection.mean)
        if not final:
            return selection
        return self.evaluate(run.final_eval_episodes, step, REPORT_SEED_OFFSET, video)

    def run(self) -> RunResult:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        run, agent = self.experiment.run, self.agent
        progress = Progress(
            TextColumn(f"{self.experiment.agent} {self.experiment.env_id}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[sps]:>6} steps/s  eval {task.fields[eval]}"),
            TimeElapsedColumn(),
            disable=not self.show_progress,
        )
        task = progress.add_task(
            "train", total=run.steps, completed=agent.env_steps, sps="-", eval=self._eval_text()
        )
        start = time.perf_counter()
        self.train_seconds = self.train_seconds_before
        result, stopped, final = None, False, False
        with progress:
            while agent.env_steps < run.steps:
                before = agent.env_steps
                stop = min(
                    run.steps,
                    *(_next_multiple(before, every)
                      for every in (run.log_every, run.eval_every, run.checkpoint_every)),
                )  # fmt: skip
                t0 = time.perf_counter()
                metrics = agent.learn(stop - before)
                chunk_seconds = time.perf_counter() - t0
                self.train_seconds += chunk_seconds
                step = agent.env_steps
                row: dict[str, Any] = {"step": step}
                final = step >= run.steps
                if final or _crossed(before, step, run.eval_every):
                    result = self.evaluate_at(step, final)
                    self.last_eval = result.mean
                    row.update(
                        eval_return_mean=result.mean,
                        eval_return_std=result.std,
                        eval_length_mean=float(result.lengths.mean()),
                    )
                row["time"] = round(self.elapsed_before + time.perf_counter() - start, 3)
                row["sps"] = round((step - before) / max(chunk_seconds, 1e-9), 1)
                row.update(metrics)
                stopped = "eval_return_mean" in row and self._callbacks_stop(step, row)
                checkpoint_now = final or stopped or _crossed(before, step, run.checkpoint_every)
                self.log.log(row, flush=checkpoint_now)
                if checkpoint_now:
                    self.save_checkpoint()
                progress.update(
                    task, completed=step, sps=f"{row['sps']:.0f}", eval=self._eval_text()
                )
                if stopped:
                    break
        self.log.close()
        if result is None or (stopped and not final):  # a spent budget resumed, or stopped
            result = self.evaluate(
                run.final_eval_episodes, agent.env_steps, REPORT_SEED_OFFSET, record=False
            )
        summary = RunResult(
            self.run_dir, agent.env_steps, result.mean, result.std, round(self.train_seconds, 3),
            stopped=stopped and not final,
        )  # fmt: skip
        write_atomic(self.run_dir / RESULT_FILE, json.dumps(summary.to_dict(), indent=2))
        if self.log.tracker is not None:
            self.log.tracker.finish(summary.to_dict())
        return summary

    def save_checkpoint(self, name: str | None = None, **info: Any) -> None:
        """checkpoints/step-<N>/ (the newest `keep_checkpoints` are kept), or checkpoints/<name>/
        with what evaluation needs (no replay or rollout in progress)."""
        directory = self.run_dir / "checkpoints"
        step = self.agent.env_steps
        info = {
            "agent": self.experiment.agent,
            "env": self.experiment.env_id,
            "step": step,
            "train_seconds": round(self.train_seconds, 3),
            **info,
        }
        state = self.agent.state_dict()
        if name is not None:
            state = {key: value for key, value in state.items() if key != "buffer"}
        checkpoint.save(directory / (name or f"step-{step}"), state, info)
        if name is None:
            checkpoint.prune(directory, self.experiment.run.keep_checkpoints)

    def _callbacks_stop(self, step: int, row: dict[str, Any]) -> bool:
        """Call every callback (each sees the row, whatever the others return); True if one
        asks to stop."""
        answers = [bool(callback(step, dict(row))) for callback in self.callbacks]
        return any(answers)

    def _eval_text(self) -> str:
        return "-" if self.last_eval is None else f"{self.last_eval:.1f}"


def _next_multiple(value: int, every: int) -> int:
    return (value // every + 1) * every


def _crossed(before: int, after: int, every: int) -> bool:
    return after // every > before // every


def evaluate_run(
    run_dir: str | Path,
    *,
    episodes: int = 20,
    checkpoint_dir: str | Path | None = None,
    seed: int | None = None,
) -> tuple[EvalResult, Path]:
    """Evaluate a run's checkpoint (last, best or a directory): by default on the episodes of
    its final evaluation (the reporting seeds), or on seeds `seed`, `seed + 1`, ..."""
    run_dir = Path(run_dir)
    experiment = read_experiment(run_dir)
    used = resolve_checkpoint(run_dir, checkpoint_dir)
    agent = load_agent(experiment, used)
    return evaluate_agent(experiment, agent, episodes, seed=seed), used


def evaluate_agent(
    experiment: Experiment, agent: Agent, episodes: int, seed: int | None = None, **render: Any
) -> EvalResult:
    """Deterministic episodes on the evaluation env, seeded `seed + i` (by default the run's
    reporting seeds); `render` goes to `evaluate` (on_frame, render_copies, render_mode)."""
    if seed is None:
        seed = experiment.run.seed + REPORT_SEED_OFFSET
    return evaluate(
        agent.act,
        experiment.env_id,
        episodes,
        seed=seed,
        device=resolve_device(experiment.run.device),
        env_options=experiment.env_options,
        **render,
    )
