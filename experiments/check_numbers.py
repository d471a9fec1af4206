"""Final metrics of fixed seeds at short budgets, to show that a refactor changes no numbers.

    python experiments/check_numbers.py > before.txt
    ... move code ...
    python experiments/check_numbers.py > after.txt && diff before.txt after.txt

Each line is one run on CPU with one torch thread: its final evaluation and the last logged
value of every training metric, with full precision, so any change in what an agent computes
shows.
"""

from __future__ import annotations

import argparse
import csv
import tempfile

import torch

import rlbox

TIMES = ("sps", "time", "wall_time", "seconds")  # metrics that vary with the machine's load
# (agent, env, backend, steps)
RUNS = [
    ("dqn", "CartPole-v1", "gymnasium", 3000),
    ("dqn", "CartPole-v1", "torch", 3000),
    ("ppo", "CartPole-v1", "gymnasium", 3000),
    ("ppo", "Pendulum-v1", "gymnasium", 9000),
    ("ppo", "CartPole-v1", "torch", 3000),
    ("a2c", "CartPole-v1", "gymnasium", 3000),
    ("reinforce", "CartPole-v1", "gymnasium", 3000),
    ("dqn", "FrozenLake-v1", "gymnasium", 2000),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as out:
        for agent, env_id, backend, steps in RUNS:
            for seed in args.seeds:
                result = rlbox.train(
                    agent, env_id, steps=steps, seed=seed, out=out,
                    overrides={"device": "cpu", "backend": backend, "eval_every": steps // 2},
                )  # fmt: skip
                last: dict[str, str] = {}
                with open(result.run_dir / "metrics.csv") as f:
                    for row in csv.DictReader(f):
                        last.update({k: v for k, v in row.items() if v != ""})
                metrics = " ".join(f"{k}={v}" for k, v in sorted(last.items()) if k not in TIMES)
                print(f"{agent} {env_id} {backend} s{seed}: eval={result.eval_return_mean!r} "
                      f"± {result.eval_return_std!r} | {metrics}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
