"""Does an agent solve an env with its default config? Trains seeds 0..N-1 and prints one line
per seed plus the count whose final evaluation reaches the threshold.

    python experiments/solve.py dqn CartPole-v1 --seeds 5 --threshold 475
    python experiments/solve.py dqn CartPole-v1 --set lr=5e-4 --jobs 2
"""

from __future__ import annotations

import argparse
import tempfile
from concurrent.futures import ProcessPoolExecutor

import rlbox
from rlbox.config.experiment import parse_overrides


def train_seed(agent: str, env_id: str, seed: int, overrides: dict, out: str) -> tuple:
    result = rlbox.train(agent, env_id, seed=seed, overrides=overrides, out=out)
    return seed, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("agent")
    parser.add_argument("env")
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--threshold", type=float, default=475.0)
    parser.add_argument("--jobs", type=int, default=1, help="Runs at a time (1 for timings).")
    parser.add_argument("--set", action="append", default=[], dest="overrides")
    parser.add_argument("--out", default=None, help="Run directories (default: a temp dir).")
    args = parser.parse_args()
    overrides = parse_overrides(args.overrides)
    out = args.out or tempfile.mkdtemp(prefix="rlbox-solve-")

    solved = 0
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        futures = [
            pool.submit(train_seed, args.agent, args.env, seed, overrides, out)
            for seed in range(args.seeds)
        ]
        for future in futures:
            seed, r = future.result()
            ok = r.eval_return_mean >= args.threshold
            solved += ok
            print(
                f"{args.agent} {args.env} seed {seed}: final eval {r.eval_return_mean:7.2f} "
                f"± {r.eval_return_std:6.2f}  steps {r.env_steps}  train {r.train_seconds:6.1f} s  "
                f"{'solved' if ok else 'not solved'}",
                flush=True,
            )
    print(f"solved {solved}/{args.seeds} (final eval mean >= {args.threshold}); runs in {out}")


if __name__ == "__main__":
    main()
