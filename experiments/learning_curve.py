"""A run's learning curve from its metrics.csv: the mean training score of the last K episodes
(Atari: whole games, true scores) against env steps, printed every `--every` steps and drawn.

    python experiments/learning_curve.py runs/pong-ppo/ppo-ALE_Pong-v5-s0-... --out pong.png

Each metrics.csv row holds the number of episodes that ended in its chunk (`episodes`) and
their mean score (`train_return`); the last K episodes are taken from the newest rows, the
oldest of them weighted by the share of its episodes that falls inside the window.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from rlbox.report.tables import steps_axis
from rlbox.run import rundir


def last_k_mean(metrics: pd.DataFrame, k: int) -> pd.Series:
    """At each row, the mean score of the last `k` episodes ended so far (NaN before `k`)."""
    counts = metrics["episodes"].fillna(0).to_numpy()
    scores = metrics["train_return"].fillna(0).to_numpy()
    out = np.full(len(metrics), np.nan)
    for i in range(len(metrics)):
        need, total = float(k), 0.0
        for j in range(i, -1, -1):
            take = min(need, counts[j])
            total += take * scores[j]
            need -= take
            if need <= 0:
                out[i] = total / k
                break
    return pd.Series(out, index=metrics.index)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_dir", type=Path)
    parser.add_argument("--episodes", type=int, default=20, help="K, the episodes averaged")
    parser.add_argument("--every", type=int, default=100_000, help="print every this many steps")
    parser.add_argument("--out", type=Path, default=None, help="PNG (default: RUN/curve.png)")
    args = parser.parse_args()
    metrics = rundir.read_metrics(args.run_dir)
    config = rundir.read_config(args.run_dir)
    curve = last_k_mean(metrics, args.episodes)
    print(f"{config['agent']} on {config['env']}: mean score of the last {args.episodes} episodes")
    print(f"{'steps':>9} {'score':>7} {'episodes so far':>16}")
    episodes = metrics["episodes"].fillna(0).cumsum()
    for step in range(args.every, int(metrics["step"].max()) + 1, args.every):
        row = metrics.index[metrics["step"] <= step][-1]
        print(f"{step:>9,} {curve[row]:>7.2f} {int(episodes[row]):>16,}")
    last = metrics.index[-1]
    print(f"{int(metrics['step'][last]):>9,} {curve[last]:>7.2f} {int(episodes[last]):>16,} (last)")

    figure = Figure(figsize=(6, 4), dpi=100, layout="constrained")
    ax = figure.subplots()
    ax.plot(metrics["step"], curve, label=f"mean of the last {args.episodes} episodes")
    evals = metrics[metrics["eval_return_mean"].notna()]
    if not evals.empty:
        ax.plot(evals["step"], evals["eval_return_mean"], "o", label="evaluation (true score)")
    ax.set_title(f"{config['agent']} on {config['env']}")
    ax.set_ylabel("score")
    steps_axis(ax, metrics["step"].max())
    ax.legend()
    out = args.out or args.run_dir / "curve.png"
    figure.savefig(out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
