"""The tabular envs of every RL course, on one-hot observations: rlbox's dqn and ppo beside
sb3-dqn and sb3-ppo with the same budget, seeds and evaluation (each with its own defaults).

    python experiments/bench_tabular.py                    # FrozenLake-v1 and Taxi-v4, 3 seeds
    python experiments/bench_tabular.py --seeds 1 --jobs 2

Prints, per env and agent, the final evaluation's mean ± std over seeds and the seconds per run.
(Gymnasium 1.4 registers Taxi-v4; Taxi-v3 is deprecated there.)
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from rlbox.grid.local import compare_grid, run_grid
from rlbox.grid.spec import make_grid

# (env, rlbox agent, its SB3 counterpart, budget in env steps)
PAIRS = [
    ("FrozenLake-v1", "dqn", "sb3-dqn", 30_000),
    ("Taxi-v4", "ppo", "sb3-ppo", 300_000),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--out", default=None, help="Comparison folders (default: a temp dir).")
    args = parser.parse_args()
    out = Path(args.out or tempfile.mkdtemp(prefix="rlbox-tabular-"))
    print(f"{'env':<15} {'agent':<8} {'final return':>16} {'s/run':>7}")
    for env_id, own, baseline, steps in PAIRS:
        grid = make_grid(
            [own, baseline], [env_id], list(range(args.seeds)), out / env_id, steps=steps,
            jobs=args.jobs, overrides={"device": "cpu"},
        )  # fmt: skip
        run_grid(grid, echo=lambda _: None)
        for row in compare_grid(grid).rows:
            print(
                f"{row.env:<15} {row.agent:<8} {row.final_mean:8.2f} ± {row.final_std:5.2f} "
                f"{row.seconds_per_run:7.1f}",
                flush=True,
            )
    print(f"runs in {out}")


if __name__ == "__main__":
    main()
