"""rlbox PPO and A2C against Stable-Baselines3 with the RL Zoo's tuned values, at the same step
budget and under the same evaluation (20 deterministic episodes on `gymnasium.make(env_id)`,
the same seeds). Each run is a fresh process, one at a time; its time runs from building the
agent to the end of the final evaluation (rlbox evaluates only at the end here, like SB3, and
still writes its logs and checkpoints). Prints one table: return mean and std over seeds,
mean seconds per run and the time ratio rlbox / SB3.

    python experiments/bench_onpolicy_vs_sb3.py --seeds 5                 # needs the sb3 extra
    python experiments/bench_onpolicy_vs_sb3.py --algos ppo --envs CartPole-v1 --seeds 2
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import statistics
import tempfile
import time

EVAL_EPISODES = 20


def linear(start: float):
    return lambda progress: progress * start  # SB3 passes the remaining fraction, 1 -> 0


# rl-baselines3-zoo, hyperparams/ppo.yml and a2c.yml. gSDE (use_sde) is kept: it is part of the
# tuned values for Pendulum, and rlbox has no equivalent, which is fair to SB3.
RL_ZOO = {
    ("ppo", "CartPole-v1"): dict(
        n_envs=8, n_steps=32, batch_size=256, gae_lambda=0.8, gamma=0.98, n_epochs=20,
        ent_coef=0.0, learning_rate=linear(1e-3), clip_range=linear(0.2),
    ),
    ("ppo", "Pendulum-v1"): dict(
        n_envs=4, n_steps=1024, gae_lambda=0.95, gamma=0.9, n_epochs=10, ent_coef=0.0,
        learning_rate=1e-3, clip_range=0.2, use_sde=True, sde_sample_freq=4,
    ),
    ("a2c", "CartPole-v1"): dict(n_envs=8, ent_coef=0.0),
    ("a2c", "Pendulum-v1"): dict(
        n_envs=8, normalize=True, ent_coef=0.0, max_grad_norm=0.5, n_steps=8, gae_lambda=0.9,
        vf_coef=0.4, gamma=0.9, use_rms_prop=True, normalize_advantage=False,
        learning_rate=linear(7e-4), use_sde=True,
        policy_kwargs=dict(log_std_init=-2, ortho_init=False),
    ),
}  # fmt: skip


def default_budget(algo: str, env_id: str) -> int:
    from rlbox.config.tuned import load_hyperparams

    return int(load_hyperparams(algo, env_id)["steps"])


def run_rlbox(algo: str, env_id: str, seed: int, steps: int, out: str) -> tuple[float, float]:
    # Import before the clock starts, as run_sb3 does with stable_baselines3 (which imports
    # tensorboard too).
    import torch.utils.tensorboard  # noqa: F401

    import rlbox
    import rlbox.run.runner
    from rlbox.catalog import AGENTS

    AGENTS.get(algo)

    start = time.perf_counter()
    # Only the final evaluation, as for SB3: periodic evaluations would be timed on one side only.
    result = rlbox.train(
        algo, env_id, seed=seed, steps=steps, device="cpu", out=out, overrides={"eval_every": steps}
    )
    return time.perf_counter() - start, result.eval_return_mean


def run_sb3(algo: str, env_id: str, seed: int, steps: int, threads: int) -> tuple[float, float]:
    from rlbox.compat import tensorboard_without_tensorflow

    tensorboard_without_tensorflow()  # as rlbox's sb3-* agents: SB3 imports TensorBoard
    import torch
    from stable_baselines3 import A2C, PPO
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.vec_env import VecNormalize

    from rlbox.run.evaluation import evaluate
    from rlbox.run.runner import REPORT_SEED_OFFSET

    torch.set_num_threads(threads)
    params = dict(RL_ZOO[(algo, env_id)])
    n_envs, normalize = params.pop("n_envs"), params.pop("normalize", False)
    start = time.perf_counter()
    env = make_vec_env(env_id, n_envs=n_envs, seed=seed)
    if normalize:
        env = VecNormalize(env, gamma=params.get("gamma", 0.99))
    cls = {"ppo": PPO, "a2c": A2C}[algo]
    model = cls("MlpPolicy", env, seed=seed, device="cpu", verbose=0, **params)
    model.learn(steps)

    def act(obs: torch.Tensor) -> torch.Tensor:
        x = obs.numpy()
        if normalize:
            x = env.normalize_obs(x)
        return torch.as_tensor(model.predict(x, deterministic=True)[0])

    result = evaluate(act, env_id, EVAL_EPISODES, seed=seed + REPORT_SEED_OFFSET)
    return time.perf_counter() - start, result.mean


def in_fresh_process(fn, *args):
    with mp.get_context("spawn").Pool(1) as pool:
        return pool.apply(fn, args)


def summary(values: list[float]) -> str:
    std = statistics.pstdev(values) if len(values) > 1 else 0.0
    return f"{statistics.mean(values):8.1f} ± {std:6.1f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--algos", nargs="+", default=["ppo", "a2c"])
    parser.add_argument("--envs", nargs="+", default=["CartPole-v1", "Pendulum-v1"])
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=None, help="default: rlbox's tuned budget")
    parser.add_argument(
        "--sb3-threads", type=int, default=1, help="torch threads for SB3 (rlbox's default is 1)"
    )
    args = parser.parse_args()
    out = tempfile.mkdtemp(prefix="rlbox-bench-")
    header = f"{'algo':<5} {'env':<13} {'steps':>7}  {'rlbox return':>17} {'s':>6}  "
    print(header + f"{'sb3 return':>17} {'s':>6}  {'ratio':>5}", flush=True)
    for algo in args.algos:
        for env_id in args.envs:
            steps = args.steps or default_budget(algo, env_id)
            ours, theirs = [], []
            for seed in range(args.seeds):
                ours.append(in_fresh_process(run_rlbox, algo, env_id, seed, steps, out))
                theirs.append(
                    in_fresh_process(run_sb3, algo, env_id, seed, steps, args.sb3_threads)
                )
            our_s = statistics.mean(t for t, _ in ours)
            their_s = statistics.mean(t for t, _ in theirs)
            print(
                f"{algo:<5} {env_id:<13} {steps:>7}  {summary([r for _, r in ours])} "
                f"{our_s:>6.1f}  {summary([r for _, r in theirs])} {their_s:>6.1f}  "
                f"{our_s / their_s:>5.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
