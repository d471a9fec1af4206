"""Do the TF-Agents baselines reach the issue's thresholds with their tuned defaults? Trains
each (agent, env) on seeds 0..N-1 (one run at a time, TensorFlow on one thread) and prints one
line per agent and seed, then the count that reached the threshold.

    python experiments/solve_tfagents.py                    # all four, 5 seeds
    python experiments/solve_tfagents.py tfa-sac --seeds 1  # one agent
"""

from __future__ import annotations

import argparse
import tempfile

import rlbox

# agent -> (env, threshold on the final 20-episode evaluation mean, most steps allowed)
TARGETS = {
    "tfa-dqn": ("CartPole-v1", 475.0, 100_000),
    "tfa-ppo": ("CartPole-v1", 475.0, 200_000),
    "tfa-reinforce": ("CartPole-v1", 475.0, 500_000),
    "tfa-sac": ("Pendulum-v1", -300.0, 50_000),
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("agents", nargs="*", default=list(TARGETS), choices=list(TARGETS))
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--out", default=None, help="Run directories (default: a temp dir).")
    args = parser.parse_args()
    out = args.out or tempfile.mkdtemp(prefix="rlbox-solve-tfa-")
    for agent in args.agents:
        env_id, threshold, most = TARGETS[agent]
        solved = 0
        for seed in range(args.seeds):
            r = rlbox.train(agent, env_id, seed=seed, out=out, overrides={"torch_threads": 1})
            ok = r.eval_return_mean >= threshold and r.env_steps <= most
            solved += ok
            print(
                f"{agent} {env_id} seed {seed}: final eval {r.eval_return_mean:8.2f} "
                f"± {r.eval_return_std:6.2f}  steps {r.env_steps}  train {r.train_seconds:6.1f} s"
                f"  {r.env_steps / max(r.train_seconds, 1e-9):6.0f} steps/s  "
                f"{'solved' if ok else 'not solved'}",
                flush=True,
            )
        print(f"{agent}: {solved}/{args.seeds} reached {threshold} within {most} steps", flush=True)
    print(f"runs in {out}")


if __name__ == "__main__":
    main()
