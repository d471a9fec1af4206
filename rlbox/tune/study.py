"""`rlbox tune`: an Optuna study over an agent's config on one env.

Optuna does the sampling (multivariate TPE, as the RL Zoo) and the pruning (a median pruner fed
by the runner's periodic evaluations, through its evaluation callbacks); rlbox only turns a
trial into runs. Each trial trains `seeds` runs (seeds 0..K-1, one after another), each a normal
run directory `<study>/trial-NNN-s<seed>/`, and scores the mean of their final evaluations.

The study's folder holds study.yaml (what it tunes: agent, env, budget, seeds, space, storage),
the storage (study.db, SQLite, by default; journal.log, Optuna's journal file, when several
processes share the study), the trials' run directories, and after each session best.yaml
(`rlbox train --config best.yaml` trains the best trial's values), optimization_history.png
and param_importances.png. `--resume` continues a study: trials a killed session left running
are marked failed, finished ones are kept, and new trials are added.
"""

from __future__ import annotations

import math
import multiprocessing as mp
import statistics
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rlbox.errors import ConfigError, RlboxError
from rlbox.run.logger import write_atomic
from rlbox.tune.space import load_space, sample, values_of

STUDY_FILE = "study.yaml"
BEST_FILE = "best.yaml"
SQLITE_FILE = "study.db"
JOURNAL_FILE = "journal.log"
STARTUP_TRIALS = 5  # random trials before TPE models the others, and before pruning starts


@dataclass(frozen=True)
class TuneSpec:
    agent: str
    env: str
    out: str
    steps: int | None = None  # None: the agent's tuned budget for the env
    seeds: int = 1
    space: str | None = None  # a --space file; None: experiments/spaces/<agent>.yaml
    storage: str = ""  # an Optuna storage URL or a journal file path; "": study.db
    overrides: dict[str, Any] = field(default_factory=dict)
    sampler_seed: int = 0

    @property
    def folder(self) -> Path:
        return Path(self.out)


def import_optuna() -> Any:
    try:
        import optuna
    except ImportError:
        raise RlboxError("rlbox tune needs Optuna: pip install -e '.[tune]'") from None
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    return optuna


def default_storage(folder: Path, processes: int) -> str:
    """SQLite for one process; Optuna's journal file when several share the study."""
    if processes > 1:
        return str(folder / JOURNAL_FILE)
    return f"sqlite:///{folder / SQLITE_FILE}"


def open_storage(url: str) -> Any:
    """An Optuna storage: a database URL, or a journal file's path."""
    import_optuna()
    if "://" in url:
        return url
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    return JournalStorage(JournalFileBackend(url))


def create_study(spec: TuneSpec, processes: int) -> TuneSpec:
    """Check the agent, env, space and every key it samples before any trial, create the
    folder, study.yaml and the study; the spec with its storage filled in."""
    from rlbox.run.build import check_out_dir, prepare

    import_optuna()
    spec = _replace(spec, out=str(spec.folder.resolve()))  # a resume may start elsewhere
    folder = spec.folder
    if (folder / STUDY_FILE).exists():
        raise RlboxError(f"{folder} holds a study already; continue it with --resume {folder}")
    space = load_space(spec.agent, Path(spec.space) if spec.space else None)
    first = {dim.key: dim.first() for dim in space}
    experiment, _ = prepare(spec.agent, spec.env, {**spec.overrides, **first, **_budget(spec)})
    spec = _replace(spec, steps=experiment.run.steps)  # the tuned budget when none was given
    check_out_dir(folder)
    folder.mkdir(parents=True, exist_ok=True)
    if spec.space:  # the study keeps its own copy: the file given may change or move
        copy = folder / "space.yaml"
        copy.write_text(Path(spec.space).read_text())
        spec = _replace(spec, space=str(copy))
    spec = _replace(spec, storage=spec.storage or default_storage(folder, processes))
    _load(spec, create=True)
    write_atomic(folder / STUDY_FILE, yaml.safe_dump(asdict(spec), sort_keys=False))
    return spec


def read_study(folder: Path) -> TuneSpec:
    path = folder / STUDY_FILE
    if not path.is_file():
        raise RlboxError(f"{folder} is not a study folder (no {STUDY_FILE})")
    return TuneSpec(**yaml.safe_load(path.read_text()))


def resume_study(folder: Path) -> TuneSpec:
    """The study in `folder`, with the trials a killed session left running marked failed."""
    optuna = import_optuna()
    spec = read_study(folder)
    study = _load(spec)
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        # no public call marks another process's trial; this is what fail_stale_trials does
        study._storage.set_trial_state_values(trial._trial_id, optuna.trial.TrialState.FAIL)
    return spec


def _load(spec: TuneSpec, create: bool = False, worker: int = 0) -> Any:
    """The study, with a sampler whose seed differs per worker and per session (the number of
    trials so far), so that parallel workers and a resumed session do not repeat samples."""
    optuna = import_optuna()
    name = f"{spec.agent}-{spec.env}"
    storage = open_storage(spec.storage)
    done = 0 if create else len(optuna.load_study(study_name=name, storage=storage).trials)
    sampler = optuna.samplers.TPESampler(
        multivariate=True, n_startup_trials=STARTUP_TRIALS,
        seed=spec.sampler_seed + 1000 * worker + done,
    )  # fmt: skip
    # as the RL Zoo: no pruning in the first third of a run, where most runs still look alike
    pruner = optuna.pruners.MedianPruner(
        n_startup_trials=STARTUP_TRIALS, n_warmup_steps=(spec.steps or 0) // 3
    )
    if create:
        return optuna.create_study(
            study_name=name, storage=storage, sampler=sampler, pruner=pruner,
            direction="maximize", load_if_exists=True,  # a creation cut before study.yaml
        )  # fmt: skip
    return optuna.load_study(study_name=name, storage=storage, sampler=sampler, pruner=pruner)


def run_trials(spec: TuneSpec, trials: int, worker: int = 0) -> None:
    """Run `trials` trials of the study in this process (`worker` of those running it)."""
    optuna = import_optuna()
    study = _load(spec, worker=worker)
    space = load_space(spec.agent, Path(spec.space) if spec.space else None)

    def objective(trial: Any) -> float:
        import rlbox

        values = {**spec.overrides, **sample(space, trial), **_budget(spec)}
        scores = []
        for seed in range(spec.seeds):
            offset = seed * spec.steps  # seed k's evaluations come after seed k-1's

            def report(step: int, row: dict[str, Any], offset: int = offset) -> bool:
                trial.report(row["eval_return_mean"], offset + step)
                return trial.should_prune()

            name = f"trial-{trial.number:03d}-s{seed}"
            trial.set_user_attr(f"run_dir_s{seed}", str(spec.folder / name))
            result = rlbox.train(
                spec.agent, spec.env, seed=seed, overrides=values, out=spec.folder,
                run_name=name, callbacks=[report],
            )  # fmt: skip
            if result.stopped:
                raise optuna.TrialPruned()
            if not math.isfinite(result.eval_return_mean):
                raise optuna.TrialPruned()  # diverged: as bad as a pruned trial
            scores.append(result.eval_return_mean)
        return statistics.mean(scores)

    def echo(study: Any, trial: Any) -> None:
        value = f"{trial.value:.2f}" if trial.value is not None else "-"
        print(
            f"trial {trial.number}: {trial.state.name.lower()} {value} {trial.params}", flush=True
        )

    study.optimize(
        objective, n_trials=trials, catch=(RlboxError, ValueError, RuntimeError), callbacks=[echo]
    )


def run_study(spec: TuneSpec, trials: int, jobs: int, launcher: str, echo: Any = print) -> Any:
    """Run `trials` more trials, `jobs` processes (local) or Ray tasks at a time; then write
    best.yaml and the plots. Returns the study."""
    shares = [trials // jobs + (i < trials % jobs) for i in range(min(jobs, trials))]
    if launcher == "ray":
        from rlbox.grid.ray_launcher import import_ray, ray_environment, start_local_ray

        ray = import_ray()
        started_here = not ray.is_initialized()
        if started_here:
            start_local_ray(ray, cpus=len(shares))
        try:
            task = ray.remote(max_calls=1)(run_trials).options(
                num_cpus=1, max_retries=3, **ray_environment()
            )
            ray.get([task.remote(spec, share, i) for i, share in enumerate(shares)])
        finally:
            if started_here:
                ray.shutdown()
    elif len(shares) == 1:
        run_trials(spec, shares[0])
    else:
        context = mp.get_context("spawn")
        processes = [
            context.Process(target=run_trials, args=(spec, n, i)) for i, n in enumerate(shares)
        ]
        for process in processes:
            process.start()
        for process in processes:
            process.join()
    study = _load(spec)
    write_outputs(spec, study, echo)
    return study


def write_outputs(spec: TuneSpec, study: Any, echo: Any = print) -> None:
    """best.yaml and the plots, from the trials finished so far."""
    optuna = import_optuna()
    states = [t.state for t in study.trials]
    counts = {s.name.lower(): states.count(s) for s in optuna.trial.TrialState if s in states}
    echo(f"{len(states)} trials: " + ", ".join(f"{n} {state}" for state, n in counts.items()))
    complete = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    if not complete:
        echo("no trial finished yet: no best.yaml")
        return
    best = study.best_trial
    space = load_space(spec.agent, Path(spec.space) if spec.space else None)
    values = {**spec.overrides, **values_of(space, best.params), **_budget(spec)}
    header = (
        f"# best of study {spec.folder}: trial {best.number}, mean final evaluation "
        f"{best.value:.2f} over seeds 0..{spec.seeds - 1}\n"
        f"# rlbox train --config {spec.folder / BEST_FILE} [--seed N]\n"
    )
    body = yaml.safe_dump({"agent": spec.agent, "env": spec.env, **values}, sort_keys=False)
    write_atomic(spec.folder / BEST_FILE, header + body)
    echo(f"best: trial {best.number}, {best.value:.2f}; wrote {spec.folder / BEST_FILE}")
    _plots(study, spec.folder, echo)


def _plots(study: Any, folder: Path, echo: Any) -> None:
    import warnings

    import matplotlib
    from optuna.exceptions import ExperimentalWarning

    warnings.simplefilter("ignore", ExperimentalWarning)  # the plots' API is stable in use
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as plots

    for name, draw in (("optimization_history", plots.plot_optimization_history),
                       ("param_importances", plots.plot_param_importances)):  # fmt: skip
        try:
            axes = draw(study)
        except (ValueError, RuntimeError) as error:  # importances need 2+ finished trials
            echo(f"no {name}.png: {error}")
            continue
        axes.figure.tight_layout()
        axes.figure.savefig(folder / f"{name}.png", dpi=100)
        plt.close(axes.figure)


def _budget(spec: TuneSpec) -> dict[str, Any]:
    return {"steps": spec.steps} if spec.steps else {}


def _replace(spec: TuneSpec, **changes: Any) -> TuneSpec:
    return TuneSpec(**{**asdict(spec), **changes})


def check_trials(trials: int, jobs: int) -> None:
    if trials < 1:
        raise ConfigError(f"--trials must be positive, got {trials}")
    if jobs < 1:
        raise ConfigError(f"--jobs must be positive, got {jobs}")
