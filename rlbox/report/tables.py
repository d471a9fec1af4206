"""Compare finished runs across agents, envs and seeds: results.csv, summary.md and curves.png.

Final returns are aggregated as in rliable (Agarwal et al., 2021, "Deep RL at the Edge of the
Statistical Precipice"): the interquartile mean over seeds with a stratified-bootstrap 95% CI,
because a mean over a handful of seeds is dominated by one lucky or unlucky run.
"""

from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator
from rich.table import Table
from rliable import library as rly
from rliable import metrics

import rlbox.run.rundir as rundir
from rlbox.errors import RlboxError
from rlbox.run.rundir import write_atomic

EVAL_COLUMNS = ["step", "eval_return_mean", "eval_return_std", "time"]
RESULT_COLUMNS = ["agent", "env", "seed", *EVAL_COLUMNS]
SUMMARY_COLUMNS = (
    "agent",
    "env",
    "seeds",
    "final return (mean ± std)",
    "IQM [95% CI]",
    "time/run (s)",
    "steps/s",
)
# With 5 seeds there are only 126 distinct resamples, so 1,000 replications pin the percentiles
# down well, and keep the report under a second for a handful of agents.
BOOTSTRAP_REPS = 1_000
CI_NOTE = (
    "IQM: interquartile mean of the final returns over seeds; 95% CI: percentile stratified "
    f"bootstrap over seeds (rliable, {BOOTSTRAP_REPS} replications, seed 0)."
)


@dataclass(frozen=True)
class SummaryRow:
    """One agent on one env, aggregated over seeds; std is the population std (ddof=0)."""

    agent: str
    env: str
    seeds: int
    final_mean: float
    final_std: float
    iqm: float
    iqm_low: float
    iqm_high: float
    seconds_per_run: float
    steps_per_second: float


@dataclass(frozen=True)
class Comparison:
    """The three files written and the summary rows (sorted by env, then agent)."""

    results: Path
    summary: Path
    curves: Path
    rows: list[SummaryRow]
    missing: list[Path]  # run directories without result.json: unfinished, left out of it all


def write_comparison(out_dir: Path, run_dirs: list[Path]) -> Comparison:
    """Read the runs, write results.csv, summary.md and curves.png into out_dir."""
    finals, evals, missing = [], [], []
    for run_dir in run_dirs:
        run = _read_run(run_dir)
        if run is None:
            missing.append(run_dir)
            continue
        final, run_evals = run
        finals.append(final)
        evals.append(run_evals)
    if not finals:
        raise RlboxError(f"none of the {len(run_dirs)} run directories has a result.json")
    label_variants(finals, evals)
    finals_df = pd.DataFrame(finals).drop(columns="identity")
    duplicated = finals_df[finals_df.duplicated(["agent", "env", "seed"], keep=False)]
    if not duplicated.empty:
        first = duplicated.iloc[0]
        raise RlboxError(
            f"several runs of {first['agent']} on {first['env']} with seed {first['seed']}: "
            + ", ".join(duplicated["run_dir"].astype(str))
        )

    out_dir.mkdir(parents=True, exist_ok=True)
    results = pd.concat(evals).sort_values(["agent", "env", "seed", "step"], ignore_index=True)
    comparison = Comparison(
        results=out_dir / "results.csv",
        summary=out_dir / "summary.md",
        curves=out_dir / "curves.png",
        rows=_summarize(finals_df),
        missing=missing,
    )
    write_atomic(comparison.results, results.to_csv(index=False, lineterminator="\n"))
    write_atomic(comparison.summary, _markdown(comparison.rows))
    tmp = comparison.curves.with_name(f".{comparison.curves.name}.tmp")
    plot_curves(results).savefig(tmp, format="png")
    os.replace(tmp, comparison.curves)
    return comparison


def summary_table(comparison: Comparison) -> Table:
    """The summary as a rich Table for the terminal, with the columns of summary.md."""
    table = Table(*SUMMARY_COLUMNS, caption=CI_NOTE)
    for row in comparison.rows:
        table.add_row(*_cells(row))
    return table


def plot_curves(results: pd.DataFrame) -> Figure:
    """One panel per env, one line per agent: the mean eval return over seeds against env steps,
    with a 95% percentile-bootstrap band over seeds. `results` has the columns of results.csv."""
    envs = sorted(results["env"].unique())
    figure = Figure(figsize=(5 * len(envs), 4), dpi=100, layout="constrained")
    axes = figure.subplots(1, len(envs), squeeze=False)[0]
    for ax, env in zip(axes, envs, strict=True):
        env_results = results[results["env"] == env]
        for agent, runs in env_results.groupby("agent"):
            steps, curves = _common_grid(runs)
            low, high = _bootstrap_band(curves)
            mean = curves.mean(axis=0)
            (line,) = ax.plot(steps, mean, marker="o", markersize=4, label=agent)
            if len(steps) == 1:  # a band over one step has no width: show the seeds' spread
                yerr = [mean - low, high - mean]
                ax.errorbar(steps, mean, yerr, fmt="none", color=line.get_color(), capsize=4)
            else:
                ax.fill_between(steps, low, high, alpha=0.25)
        ax.set_title(env)
        ax.set_ylabel("eval return")
        steps_axis(ax, env_results["step"].max())
        ax.legend()
    return figure


def steps_axis(ax: Axes, last_step: float) -> None:
    """An "env steps" x axis from 0 to just past `last_step`, ticks labelled 500, 10k, 1.5M.

    From 0, so that a run evaluated once or twice near its end reads as late in training rather
    than as a panel zoomed in on one point; short labels, so that five ticks never collide.
    """
    ax.set_xlabel("env steps")
    ax.set_xlim(0, (float(last_step) if last_step > 0 else 1.0) * 1.04)  # NaN: no rows yet
    ax.xaxis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 5, 10], integer=True))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: step_label(x)))


def step_label(steps: float) -> str:
    """10000 -> "10k", 1500000 -> "1.5M", 500 -> "500"."""
    for scale, suffix in ((1e6, "M"), (1e3, "k")):
        if abs(steps) >= scale:
            return f"{steps / scale:g}{suffix}"
    return f"{steps:g}"


def label_variants(finals: list[dict], evals: list[pd.DataFrame]) -> None:
    """Where runs of one agent on one env were made with different values, name each variant
    by them, e.g. "dqn [lr=0.0005]", so that no run is reported as another's seed."""
    groups: dict[tuple[str, str], list[int]] = {}
    for i, final in enumerate(finals):
        groups.setdefault((final["agent"], final["env"]), []).append(i)
    for members in groups.values():
        identities = [finals[i]["identity"] for i in members]
        keys = sorted({k for ident in identities for k in ident})
        differing = [k for k in keys if len({repr(ident.get(k)) for ident in identities}) > 1]
        if not differing:
            continue
        for i in members:
            values = ", ".join(f"{k}={finals[i]['identity'].get(k)}" for k in differing)
            finals[i]["agent"] = f"{finals[i]['agent']} [{values}]"
            evals[i]["agent"] = finals[i]["agent"]


def _read_run(run_dir: Path) -> tuple[dict, pd.DataFrame] | None:
    """A finished run's final numbers and its evaluation rows; None if it is unfinished."""
    result = rundir.read_result(run_dir)
    if result is None:
        return None
    config = rundir.read_config(run_dir)
    key = {"agent": config["agent"], "env": config["env"], "seed": config["run"]["seed"]}
    final = {
        **key,
        "run_dir": run_dir,
        "final_return": result["eval_return_mean"],
        "train_seconds": result["train_seconds"],
        "env_steps": result["env_steps"],
        "identity": rundir.read_identity(run_dir),
    }
    metrics = rundir.read_metrics(run_dir)
    evals = metrics.loc[metrics["eval_return_mean"].notna(), EVAL_COLUMNS]
    return final, evals.assign(**key)[RESULT_COLUMNS]


def _summarize(finals: pd.DataFrame) -> list[SummaryRow]:
    # Sorted by env first, so that the agents compared on one env are adjacent.
    rows = []
    for (env, agent), runs in finals.groupby(["env", "agent"], sort=True):
        scores = runs["final_return"].to_numpy()
        with warnings.catch_warnings():
            # arch deprecates the RandomState that rliable passes as random_state.
            warnings.simplefilter("ignore", FutureWarning)
            iqm, ci = rly.get_interval_estimates(
                {agent: scores[:, None]},
                lambda s: np.array([metrics.aggregate_iqm(s)]),
                reps=BOOTSTRAP_REPS,
                random_state=np.random.RandomState(0),
            )
        rows.append(
            SummaryRow(
                agent=agent,
                env=env,
                seeds=len(runs),
                final_mean=float(scores.mean()),
                final_std=float(scores.std()),
                iqm=float(iqm[agent][0]),
                iqm_low=float(ci[agent][0, 0]),
                iqm_high=float(ci[agent][1, 0]),
                seconds_per_run=float(runs["train_seconds"].mean()),
                steps_per_second=float((runs["env_steps"] / runs["train_seconds"]).mean()),
            )
        )
    return rows


def _cells(row: SummaryRow) -> list[str]:
    return [
        row.agent,
        row.env,
        str(row.seeds),
        f"{row.final_mean:.2f} ± {row.final_std:.2f}",
        f"{row.iqm:.2f} [{row.iqm_low:.2f}, {row.iqm_high:.2f}]",
        f"{row.seconds_per_run:.1f}",
        f"{row.steps_per_second:.0f}",
    ]


def _markdown(rows: list[SummaryRow]) -> str:
    lines = [
        CI_NOTE,
        "",
        "| " + " | ".join(SUMMARY_COLUMNS) + " |",
        "|" + "---|" * len(SUMMARY_COLUMNS),
    ]
    lines += ["| " + " | ".join(_cells(row)) + " |" for row in rows]
    return "\n".join(lines) + "\n"


def _common_grid(runs: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Each seed's curve interpolated onto the eval steps that lie where every seed has data.

    Seeds can be evaluated at slightly different steps (a baseline overshoots a chunk by part
    of a rollout), so the grid is the union of their steps within the range they all cover.
    Returns the grid [S] and the curves [seeds, S].
    """
    per_seed = [g for _, g in runs.groupby("seed")]
    start = max(g["step"].min() for g in per_seed)
    stop = min(g["step"].max() for g in per_seed)
    steps = np.unique(runs["step"].to_numpy())
    steps = steps[(steps >= start) & (steps <= stop)]
    curves = np.stack([np.interp(steps, g["step"], g["eval_return_mean"]) for g in per_seed])
    return steps, curves


def _bootstrap_band(curves: np.ndarray, reps: int = 1_000) -> tuple[np.ndarray, np.ndarray]:
    """2.5 and 97.5 percentiles of the mean over seeds resampled with replacement, per step.

    A percentile bootstrap rather than mean ± 1.96 SE: it needs no normality, stays inside
    the range of the seeds, and has width zero (not NaN) for a single seed.
    """
    rng = np.random.default_rng(0)
    picks = rng.integers(len(curves), size=(reps, len(curves)))
    means = curves[picks].mean(axis=1)  # [reps, S]
    return np.percentile(means, 2.5, axis=0), np.percentile(means, 97.5, axis=0)
