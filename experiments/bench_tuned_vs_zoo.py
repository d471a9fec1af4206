"""Own agents against their sb3-* counterparts wherever the RL Zoo tunes SB3, at the Zoo's budget.

Each pair is one grid (`rlbox compare`'s machinery): the own agent with its tuned values
(experiments/hyperparams/<agent>.yaml) and the sb3-* agent with the Zoo's, on the same env,
seeds and budget (the sb3 agent's tuned `steps`, i.e. the Zoo's n_timesteps), one run at a
time, scored by the same final evaluation. The grids go to --out/<agent>-<env>/ (summary.md and
curves.png each); running the script again runs only what is missing. Prints one table: env,
agent, final return IQM [95% CI], mean ± std, seconds per run.

REINFORCE has no SB3 counterpart; it is set against sb3-a2c (REINFORCE with a learned baseline,
bootstrapped), the nearest algorithm SB3 has.

The default seeds, 100..102, are not among the seeds any tuned value was chosen on.

    python experiments/bench_tuned_vs_zoo.py                           # every pair: hours
    python experiments/bench_tuned_vs_zoo.py --pairs dqn:Acrobot-v1 --seeds 0 1 2
"""

from __future__ import annotations

import argparse
from pathlib import Path

PAIRS = [
    ("dqn", "Acrobot-v1"),
    ("dqn", "MountainCar-v0"),
    ("dqn", "LunarLander-v3"),
    ("a2c", "Acrobot-v1"),
    ("a2c", "LunarLander-v3"),
    ("a2c", "MountainCar-v0"),
    ("ppo", "MountainCar-v0"),
    ("ppo", "MountainCarContinuous-v0"),
    ("ppo", "LunarLanderContinuous-v3"),
    ("reinforce", "Acrobot-v1"),
]
COUNTERPART = {"dqn": "sb3-dqn", "a2c": "sb3-a2c", "ppo": "sb3-ppo", "reinforce": "sb3-a2c"}


def parse_pair(text: str) -> tuple[str, str]:
    agent, _, env_id = text.partition(":")
    if (agent, env_id) not in PAIRS:
        known = ", ".join(f"{a}:{e}" for a, e in PAIRS)
        raise argparse.ArgumentTypeError(f"unknown pair {text!r}; pairs: {known}")
    return agent, env_id


def run_pair(
    agent: str, env_id: str, seeds: list[int], out: Path, jobs: int, steps: int | None
) -> list:
    from rlbox.config.tuned import load_hyperparams
    from rlbox.grid.local import compare_grid, run_grid
    from rlbox.grid.spec import make_grid

    baseline = COUNTERPART[agent]
    steps = steps or int(load_hyperparams(baseline, env_id)["steps"])
    folder = out / f"{agent}-{env_id.replace('/', '_')}"
    grid = make_grid([agent, baseline], [env_id], seeds, folder, steps, jobs)
    run_grid(grid, echo=lambda line: print(f"  {line}", flush=True))
    # runs left in the folder by other values of these agents come labelled `agent [key=value]`
    rows = compare_grid(grid).rows
    return [row for row in rows if row.agent.partition(" [")[0] in (agent, baseline)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", nargs="+", type=parse_pair, default=PAIRS, metavar="AGENT:ENV")
    parser.add_argument("--seeds", nargs="+", type=int, default=[100, 101, 102])
    parser.add_argument("--jobs", type=int, default=1, help="runs at a time (1: fair timing)")
    parser.add_argument("--steps", type=int, default=None, help="default: the Zoo's budget")
    parser.add_argument("--out", type=Path, default=Path("runs/tuned-vs-zoo"))
    args = parser.parse_args()

    rows = []
    for agent, env_id in args.pairs:
        print(f"{agent} and {COUNTERPART[agent]} on {env_id}, seeds {args.seeds}", flush=True)
        rows += run_pair(agent, env_id, args.seeds, args.out, args.jobs, args.steps)
    width = max([10] + [len(row.agent) for row in rows])
    print(f"\n{'env':<26} {'agent':<{width}} {'IQM [95% CI]':>28} {'mean ± std':>20} {'s/run':>8}")
    for row in rows:
        iqm = f"{row.iqm:.1f} [{row.iqm_low:.1f}, {row.iqm_high:.1f}]"
        mean = f"{row.final_mean:.1f} ± {row.final_std:.1f}"
        print(
            f"{row.env:<26} {row.agent:<{width}} {iqm:>28} {mean:>20} {row.seconds_per_run:>8.1f}"
        )


if __name__ == "__main__":
    main()
