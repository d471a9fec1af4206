"""Time to solve CartPole-v1: rlbox PPO against SB3 PPO (RL Zoo values), in one run.

Time to solve: each side trains in chunks of `--eval-every` env steps and is evaluated after
each chunk on `gymnasium.make` (20 deterministic episodes, the runner's evaluation seeds); the
clock counts training only, not evaluation or start-up. A seed's figure is the training time
until the first evaluation with a mean >= 475 ("nan" if that never happens within the budget:
rlbox's tuned `steps` for the backend, SB3's 100k).

End to end (`--end-to-end`): the whole `rlbox train ppo CartPole-v1 --backend B` process, as a
user runs it (start-up, training, evaluations, checkpoints), against a whole process that
imports SB3, trains it with the RL Zoo values for 100k steps and evaluates it the same way.

    python experiments/bench_ppo_solve.py                          # rlbox on its default backend
    python experiments/bench_ppo_solve.py --backend torch --end-to-end
    python experiments/bench_ppo_solve.py --backend torch --set num_envs=128
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_onpolicy_vs_sb3 import RL_ZOO, in_fresh_process

ENV_ID = "CartPole-v1"
THRESHOLD = 475.0
EPISODES = 20


def rlbox_time_to_solve(
    seed: int, every: int, budget: int | None, overrides: dict
) -> tuple[float, int]:
    from rlbox.run.build import build_agent, prepare
    from rlbox.run.runner import evaluate_agent

    values = {**overrides, "seed": seed, "device": "cpu", **({"steps": budget} if budget else {})}
    experiment, agent_class = prepare("ppo", ENV_ID, values)
    budget = experiment.run.steps
    agent = build_agent(experiment, agent_class)
    trained = 0.0
    while agent.env_steps < budget:
        start = time.perf_counter()
        agent.learn(min(every, budget - agent.env_steps))
        trained += time.perf_counter() - start
        if evaluate_agent(experiment, agent, EPISODES).mean >= THRESHOLD:
            return trained, agent.env_steps
    return float("nan"), agent.env_steps


def sb3_time_to_solve(seed: int, every: int, budget: int) -> tuple[float, int]:
    from rlbox.compat import tensorboard_without_tensorflow

    tensorboard_without_tensorflow()  # as rlbox's sb3-* agents: SB3 imports TensorBoard
    import torch
    from stable_baselines3 import PPO
    from stable_baselines3.common.callbacks import BaseCallback
    from stable_baselines3.common.env_util import make_vec_env

    from rlbox.run.evaluation import evaluate
    from rlbox.run.runner import REPORT_SEED_OFFSET

    torch.set_num_threads(1)
    params = dict(RL_ZOO[("ppo", ENV_ID)])
    env = make_vec_env(ENV_ID, n_envs=params.pop("n_envs"), seed=seed)
    model = PPO("MlpPolicy", env, seed=seed, device="cpu", verbose=0, **params)

    def act(obs: torch.Tensor) -> torch.Tensor:
        return torch.as_tensor(model.predict(obs.numpy(), deterministic=True)[0])

    class EvaluateEvery(BaseCallback):
        """Evaluate every `every` steps with the clock stopped; stop once solved."""

        def __init__(self) -> None:
            super().__init__()
            self.next_eval, self.paused, self.solved_at = every, 0.0, None

        def _on_step(self) -> bool:
            if self.num_timesteps < self.next_eval:
                return True
            self.next_eval += every
            pause = time.perf_counter()
            solved = evaluate(act, ENV_ID, EPISODES, seed=seed + REPORT_SEED_OFFSET).mean
            self.paused += time.perf_counter() - pause
            if solved >= THRESHOLD:
                self.solved_at = self.num_timesteps
                return False
            return True

    callback = EvaluateEvery()
    start = time.perf_counter()
    model.learn(budget, callback=callback)  # one call: SB3's schedules span the budget
    trained = time.perf_counter() - start - callback.paused
    if callback.solved_at is None:
        return float("nan"), model.num_timesteps
    return trained, callback.solved_at


def rlbox_whole_run(seed: int, backend: str, overrides: list[str]) -> tuple[float, float]:
    """Wall-clock of the whole `rlbox train` process and its final evaluation mean."""
    rlbox = Path(sys.executable).with_name("rlbox")
    sets = [arg for pair in overrides for arg in ("--set", pair)]
    with tempfile.TemporaryDirectory() as out:
        command = [str(rlbox), "train", "ppo", ENV_ID, "--backend", backend, "--out", out]
        start = time.perf_counter()
        subprocess.run([*command, "--set", f"seed={seed}", *sets], check=True, capture_output=True)
        seconds = time.perf_counter() - start
        (result,) = Path(out).glob("*/result.json")
        return seconds, json.loads(result.read_text())["eval_return_mean"]


def sb3_whole_run(seed: int) -> tuple[float, float]:
    """Wall-clock of a whole process that trains SB3 PPO (RL Zoo, 100k) and evaluates it."""
    code = (
        "from bench_onpolicy_vs_sb3 import run_sb3; "
        f"print(run_sb3('ppo', {ENV_ID!r}, {seed}, 100_000, 1)[1])"
    )
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=Path(__file__).parent, check=True,
        capture_output=True, text=True,
    )  # fmt: skip
    return time.perf_counter() - start, float(done.stdout.split()[-1])


def end_to_end(seeds: int, backend: str, overrides: list[str]) -> None:
    print(f"end to end: rlbox train ppo {ENV_ID} --backend {backend} vs SB3's whole RL Zoo run")
    print(f"{'seed':>4} {'rlbox s':>8} {'return':>7} {'sb3 s':>8} {'return':>7} {'fraction':>8}")
    fractions = []
    for seed in range(seeds):
        ours, theirs = rlbox_whole_run(seed, backend, overrides), sb3_whole_run(seed)
        fractions.append(ours[0] / theirs[0])
        print(
            f"{seed:>4} {ours[0]:8.2f} {ours[1]:7.1f} {theirs[0]:8.2f} {theirs[1]:7.1f} "
            f"{fractions[-1]:8.2f}",
            flush=True,
        )
    print(f"median fraction rlbox process / SB3 process: {statistics.median(fractions):.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--eval-every", type=int, default=5_000)
    parser.add_argument("--budget", type=int, default=None, help="rlbox steps (default: tuned)")
    parser.add_argument("--backend", default="gymnasium")
    parser.add_argument("--set", action="append", default=[], help="rlbox config key=value")
    parser.add_argument("--end-to-end", action="store_true", help="also time whole processes")
    args = parser.parse_args()
    from rlbox.config.experiment import parse_overrides

    overrides = {"backend": args.backend, **parse_overrides(args.set)}
    print(f"rlbox ppo {overrides} vs SB3 PPO (RL Zoo), eval every {args.eval_every} steps")
    columns = f"{'s':>6} {'steps':>7} {'steps/s':>8}"
    print(f"{'seed':>4} rlbox {columns}   sb3 {columns} {'ratio':>6}")
    ratios = []
    for seed in range(args.seeds):
        ours = in_fresh_process(rlbox_time_to_solve, seed, args.eval_every, args.budget, overrides)
        theirs = in_fresh_process(sb3_time_to_solve, seed, args.eval_every, 100_000)
        ratio = theirs[0] / ours[0]
        ratios.append(ratio)
        ours_text, theirs_text = (
            f"{s:6.2f} {n:>7} {n / s:8.0f}" for s, n in (ours, theirs)
        )  # training steps up to the solving evaluation, per training second
        print(f"{seed:>4}       {ours_text}       {theirs_text} {ratio:6.2f}", flush=True)
    print(f"median speed-up sb3 time / rlbox time: {statistics.median(ratios):.2f}")
    if args.end_to_end:
        end_to_end(args.seeds, args.backend, args.set)


if __name__ == "__main__":
    main()
