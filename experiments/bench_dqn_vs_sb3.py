"""rlbox DQN against Stable-Baselines3 DQN on CartPole-v1: wall-clock and final return.

Both train for the same budget and are scored by the same evaluation (rlbox.run.evaluation:
20 deterministic episodes on `gymnasium.make("CartPole-v1")`, the same seeds). SB3 uses the RL
Zoo's tuned hyper-parameters (rl-baselines3-zoo, hyperparams/dqn.yml, CartPole-v1); rlbox uses
its own defaults (experiments/hyperparams/dqn.yaml). Each run is a fresh process, one at a time;
the time is from building the agent to the end of the final evaluation (imports excluded), and
rlbox's includes its periodic evaluations, checkpoints and logs.

    python experiments/bench_dqn_vs_sb3.py --seeds 3          # needs the sb3 extra
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import tempfile
import time

ENV_ID = "CartPole-v1"
STEPS = 50_000
EVAL_EPISODES = 20

# rl-baselines3-zoo, hyperparams/dqn.yml, CartPole-v1 (n_timesteps: 5e4)
RL_ZOO = {
    "learning_rate": 2.3e-3,
    "batch_size": 64,
    "buffer_size": 100_000,
    "learning_starts": 1_000,
    "gamma": 0.99,
    "target_update_interval": 10,
    "train_freq": 256,
    "gradient_steps": 128,
    "exploration_fraction": 0.16,
    "exploration_final_eps": 0.04,
    "policy_kwargs": {"net_arch": [256, 256]},
}


def run_rlbox(seed: int, out: str) -> tuple[float, float]:
    import rlbox

    start = time.perf_counter()
    result = rlbox.train("dqn", ENV_ID, seed=seed, steps=STEPS, device="cpu", out=out)
    return time.perf_counter() - start, result.eval_return_mean


def run_sb3(seed: int, threads: int | None) -> tuple[float, float]:
    from rlbox.compat import tensorboard_without_tensorflow

    tensorboard_without_tensorflow()  # as rlbox's sb3-* agents: SB3 imports TensorBoard
    import gymnasium as gym
    import torch
    from stable_baselines3 import DQN

    from rlbox.run.evaluation import evaluate
    from rlbox.run.runner import REPORT_SEED_OFFSET

    if threads:
        torch.set_num_threads(threads)
    start = time.perf_counter()
    model = DQN("MlpPolicy", gym.make(ENV_ID), seed=seed, device="cpu", verbose=0, **RL_ZOO)
    model.learn(STEPS)

    def act(obs: torch.Tensor) -> torch.Tensor:
        return torch.as_tensor(model.predict(obs.numpy(), deterministic=True)[0])

    result = evaluate(act, ENV_ID, EVAL_EPISODES, seed=seed + REPORT_SEED_OFFSET)
    return time.perf_counter() - start, result.mean


def in_fresh_process(fn, *args):
    with mp.get_context("spawn").Pool(1) as pool:
        return pool.apply(fn, args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument(
        "--sb3-threads",
        type=int,
        default=None,
        help="torch threads for SB3 (default: torch's own default)",
    )
    args = parser.parse_args()
    out = tempfile.mkdtemp(prefix="rlbox-bench-")
    print(f"{'seed':>4} {'rlbox s':>8} {'rlbox ret':>9} {'sb3 s':>8} {'sb3 ret':>8} {'ratio':>6}")
    ratios, rlbox_returns, sb3_returns = [], [], []
    for seed in range(args.seeds):
        rl_time, rl_return = in_fresh_process(run_rlbox, seed, out)
        sb_time, sb_return = in_fresh_process(run_sb3, seed, args.sb3_threads)
        ratios.append(rl_time / sb_time)
        rlbox_returns.append(rl_return)
        sb3_returns.append(sb_return)
        print(
            f"{seed:>4} {rl_time:>8.1f} {rl_return:>9.1f} {sb_time:>8.1f} {sb_return:>8.1f} "
            f"{ratios[-1]:>6.2f}",
            flush=True,
        )
    print(
        f"time ratio rlbox/sb3: median {statistics.median(ratios):.2f} "
        f"(< 1 means rlbox is faster); mean final return rlbox "
        f"{statistics.mean(rlbox_returns):.1f}, sb3 {statistics.mean(sb3_returns):.1f}"
    )


if __name__ == "__main__":
    main()
