"""rlbox SAC and TD3 against Stable-Baselines3's, with the RL Zoo's tuned values on both sides.

Returns and time (default): each run is a fresh process, one at a time, at the Zoo's budget;
its time runs from building the agent to the end of the final evaluation (20 deterministic
episodes on `gymnasium.make(env_id)`, the runner's reporting seeds, on both sides; rlbox
evaluates only at the end here, like SB3, and still writes its logs and checkpoints). Prints
return mean and std over seeds, seconds per run and the time ratio rlbox / SB3.

Time to a return (`--time-to -200`, with `--backend torch` for rlbox's torch-native envs): each
side trains in chunks of `--eval-every` env steps and is evaluated after each (10 episodes,
same seeds) with the clock stopped; a seed's figure is the training time until the first
evaluation whose mean reaches the threshold ("nan" if none does within the budget).

    python experiments/bench_offpolicy_vs_sb3.py                       # Pendulum 5 seeds, MCC 3
    python experiments/bench_offpolicy_vs_sb3.py --algos sac --envs Pendulum-v1 --seeds 2
    python experiments/bench_offpolicy_vs_sb3.py --time-to -200 --backend torch --seeds 3
    python experiments/bench_offpolicy_vs_sb3.py --envs LunarLanderContinuous-v3  # box2d extra
"""

from __future__ import annotations

import argparse
import math
import statistics
import tempfile
import time

from bench_onpolicy_vs_sb3 import default_budget, in_fresh_process, linear, run_rlbox, summary

SEEDS = {"Pendulum-v1": 5, "MountainCarContinuous-v0": 3, "LunarLanderContinuous-v3": 1}
DEFAULT_ENVS = ["Pendulum-v1", "MountainCarContinuous-v0"]  # LunarLander: hours, needs box2d
PROGRESS_EPISODES = 10

# rl-baselines3-zoo, hyperparams/sac.yml and td3.yml (td3's train_freq [1, episode] with
# gradient_steps -1 is one gradient step per env step; taken here after each step, as
# experiments/hyperparams/td3.yaml and sb3-td3.yaml do). `noise`: the action noise's kind and std.
RL_ZOO = {
    ("sac", "Pendulum-v1"): dict(learning_rate=1e-3),
    ("sac", "MountainCarContinuous-v0"): dict(
        learning_rate=3e-4, buffer_size=50000, batch_size=512, ent_coef=0.1, train_freq=32,
        gradient_steps=32, gamma=0.9999, tau=0.01, learning_starts=0, use_sde=True,
        policy_kwargs=dict(log_std_init=-3.67, net_arch=[64, 64]),
    ),
    ("td3", "Pendulum-v1"): dict(
        gamma=0.98, buffer_size=200000, learning_starts=10000, noise=("normal", 0.1),
        gradient_steps=1, train_freq=1, learning_rate=1e-3,
        policy_kwargs=dict(net_arch=[400, 300]),
    ),
    ("td3", "MountainCarContinuous-v0"): dict(noise=("ou", 0.5)),
    ("sac", "LunarLanderContinuous-v3"): dict(
        learning_rate=linear(7.3e-4), batch_size=256, buffer_size=1000000, gamma=0.99, tau=0.01,
        train_freq=1, gradient_steps=1, learning_starts=10000,
        policy_kwargs=dict(net_arch=[400, 300]),
    ),
    ("td3", "LunarLanderContinuous-v3"): dict(
        gamma=0.98, buffer_size=200000, learning_starts=10000, noise=("normal", 0.1),
        gradient_steps=1, train_freq=1, learning_rate=1e-3,
        policy_kwargs=dict(net_arch=[400, 300]),
    ),
}  # fmt: skip


def sb3_model(algo: str, env_id: str, seed: int):
    """SB3's SAC or TD3 with the Zoo's values on SB3's own vector env of one copy."""
    from rlbox.compat import tensorboard_without_tensorflow

    tensorboard_without_tensorflow()  # as rlbox's sb3-* agents: SB3 imports TensorBoard
    import numpy as np
    import torch
    from stable_baselines3 import SAC, TD3
    from stable_baselines3.common.env_util import make_vec_env
    from stable_baselines3.common.noise import NormalActionNoise, OrnsteinUhlenbeckActionNoise

    torch.set_num_threads(1)  # rlbox's default torch_threads
    params = dict(RL_ZOO[(algo, env_id)])
    env = make_vec_env(env_id, n_envs=1, seed=seed)
    if "noise" in params:
        kind, std = params.pop("noise")
        dim = env.action_space.shape[0]
        noise = OrnsteinUhlenbeckActionNoise if kind == "ou" else NormalActionNoise
        params["action_noise"] = noise(np.zeros(dim), np.full(dim, std))
    cls = {"sac": SAC, "td3": TD3}[algo]
    return cls("MlpPolicy", env, seed=seed, device="cpu", verbose=0, **params)


def sb3_act(model):
    import torch

    return lambda obs: torch.as_tensor(model.predict(obs.numpy(), deterministic=True)[0])


def run_sb3(algo: str, env_id: str, seed: int, steps: int) -> tuple[float, float]:
    """(seconds, final evaluation mean): build, train `steps`, evaluate."""
    from rlbox.compat import tensorboard_without_tensorflow

    tensorboard_without_tensorflow()  # as rlbox's sb3-* agents: SB3 imports TensorBoard
    import stable_baselines3  # noqa: F401  (imported before the clock starts, as rlbox is)

    from rlbox.config.experiment import RunConfig
    from rlbox.run.evaluation import evaluate
    from rlbox.run.runner import REPORT_SEED_OFFSET

    start = time.perf_counter()
    model = sb3_model(algo, env_id, seed)
    model.learn(steps)
    episodes = RunConfig.final_eval_episodes
    result = evaluate(sb3_act(model), env_id, episodes, seed=seed + REPORT_SEED_OFFSET)
    return time.perf_counter() - start, result.mean


def rlbox_time_to(
    algo: str, env_id: str, seed: int, every: int, threshold: float, backend: str
) -> tuple[float, int]:
    """(training seconds, env steps) until the first evaluation >= threshold."""
    from rlbox.run.build import build_agent, prepare
    from rlbox.run.runner import evaluate_agent

    values = {"seed": seed, "device": "cpu", "backend": backend}
    experiment, agent_class = prepare(algo, env_id, values)
    budget = experiment.run.steps
    agent = build_agent(experiment, agent_class)
    trained = 0.0
    while agent.env_steps < budget:
        start = time.perf_counter()
        agent.learn(min(every, budget - agent.env_steps))
        trained += time.perf_counter() - start
        if evaluate_agent(experiment, agent, PROGRESS_EPISODES).mean >= threshold:
            return trained, agent.env_steps
    return math.nan, agent.env_steps


def sb3_time_to(
    algo: str, env_id: str, seed: int, every: int, threshold: float, budget: int
) -> tuple[float, int]:
    from stable_baselines3.common.callbacks import BaseCallback

    from rlbox.run.evaluation import evaluate
    from rlbox.run.runner import REPORT_SEED_OFFSET

    model = sb3_model(algo, env_id, seed)
    act = sb3_act(model)

    class EvaluateEvery(BaseCallback):
        """Evaluate every `every` steps with the clock stopped; stop at the threshold."""

        def __init__(self) -> None:
            super().__init__()
            self.next_eval, self.paused, self.reached_at = every, 0.0, None

        def _on_step(self) -> bool:
            if self.num_timesteps < self.next_eval:
                return True
            self.next_eval += every
            pause = time.perf_counter()
            score = evaluate(act, env_id, PROGRESS_EPISODES, seed=seed + REPORT_SEED_OFFSET).mean
            self.paused += time.perf_counter() - pause
            if score >= threshold:
                self.reached_at = self.num_timesteps
                return False
            return True

    callback = EvaluateEvery()
    start = time.perf_counter()
    model.learn(budget, callback=callback)
    trained = time.perf_counter() - start - callback.paused
    if callback.reached_at is None:
        return math.nan, model.num_timesteps
    return trained, callback.reached_at


def returns_and_time(args: argparse.Namespace) -> None:
    out = tempfile.mkdtemp(prefix="rlbox-bench-")
    header = f"{'algo':<4} {'env':<24} {'steps':>7} {'seeds':>5}  {'rlbox return':>17} {'s':>7}  "
    print(header + f"{'sb3 return':>17} {'s':>7}  {'ratio':>5}", flush=True)
    for algo in args.algos:
        for env_id in args.envs:
            steps = args.steps or default_budget(algo, env_id)
            seeds = args.seeds or SEEDS.get(env_id, 3)
            ours, theirs = [], []
            for seed in range(seeds):
                ours.append(in_fresh_process(run_rlbox, algo, env_id, seed, steps, out))
                theirs.append(in_fresh_process(run_sb3, algo, env_id, seed, steps))
            our_s = statistics.mean(t for t, _ in ours)
            their_s = statistics.mean(t for t, _ in theirs)
            print(
                f"{algo:<4} {env_id:<24} {steps:>7} {seeds:>5}  {summary([r for _, r in ours])} "
                f"{our_s:>7.1f}  {summary([r for _, r in theirs])} {their_s:>7.1f}  "
                f"{our_s / their_s:>5.2f}",
                flush=True,
            )


def time_to(args: argparse.Namespace) -> None:
    print(
        f"time to an evaluation >= {args.time_to} (training seconds; rlbox --backend "
        f"{args.backend}, SB3 on Gymnasium), evaluated every {args.eval_every} steps",
        flush=True,
    )
    for algo in args.algos:
        for env_id in args.envs:
            budget = args.steps or default_budget(algo, env_id)
            seeds = args.seeds or SEEDS.get(env_id, 3)
            ours, theirs = [], []
            for seed in range(seeds):
                ours.append(
                    in_fresh_process(
                        rlbox_time_to, algo, env_id, seed, args.eval_every, args.time_to,
                        args.backend,
                    )
                )  # fmt: skip
                theirs.append(
                    in_fresh_process(
                        sb3_time_to, algo, env_id, seed, args.eval_every, args.time_to, budget
                    )
                )
                print(
                    f"  {algo} {env_id} seed {seed}: rlbox {ours[-1][0]:.1f} s "
                    f"({ours[-1][1]} steps), sb3 {theirs[-1][0]:.1f} s ({theirs[-1][1]} steps)",
                    flush=True,
                )
            our_s = statistics.mean(t for t, _ in ours)
            their_s = statistics.mean(t for t, _ in theirs)
            print(
                f"{algo} {env_id}: rlbox {our_s:.1f} s, sb3 {their_s:.1f} s, "
                f"ratio {our_s / their_s:.2f} (nan: a seed never reached it)",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--algos", nargs="+", default=["sac", "td3"], choices=["sac", "td3"])
    parser.add_argument("--envs", nargs="+", default=DEFAULT_ENVS)
    parser.add_argument(
        "--seeds", type=int, default=None, help="default: 5 Pendulum, 3 MCC, 1 LunarLander"
    )
    parser.add_argument("--steps", type=int, default=None, help="default: the Zoo's budget")
    parser.add_argument("--time-to", type=float, default=None, help="a return to reach")
    parser.add_argument("--eval-every", type=int, default=1000)
    parser.add_argument("--backend", default="gymnasium", help="rlbox's env backend")
    args = parser.parse_args()
    unknown = [(a, e) for a in args.algos for e in args.envs if (a, e) not in RL_ZOO]
    if unknown:
        parser.error(f"no RL Zoo values here for {unknown}; envs with values: {list(SEEDS)}")
    if args.time_to is None:
        returns_and_time(args)
    else:
        time_to(args)


if __name__ == "__main__":
    main()
