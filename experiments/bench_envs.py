"""Env steps/s of rlbox's torch-native CartPole against Gymnasium's numpy-vectorized CartPole
(`vector_entry_point`, the fastest CPU reference) and its SyncVectorEnv, at several numbers of
copies, on the CPU and on CUDA when there is one. Random actions are drawn before the clock
starts; every env steps with same-step autoreset of finished copies. Each figure is the best of
`--repeats` timed runs, as `timeit` reports; the contenders take turns, so that a burst of other
work on the machine does not decide a ratio.

    python experiments/bench_envs.py                      # 8, 256, 4096, 65536 copies
    python experiments/bench_envs.py --copies 4096 --steps 200
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import gymnasium as gym
import numpy as np
import torch

from rlbox.envs.torch import CartPole

SYNC_MAX_COPIES = 4096  # SyncVectorEnv steps copies one by one: beyond this it takes minutes


def torch_stepper(copies: int, steps: int, device: str, dtype: torch.dtype) -> Callable[[], None]:
    env = CartPole(copies, device=device, dtype=dtype)
    env.reset(seed=0)
    actions = torch.randint(0, 2, (steps, copies), device=device)

    def run() -> None:
        for t in range(steps):
            env.step(actions[t])
        sync(device)

    return run


def gymnasium_stepper(copies: int, steps: int, mode: str) -> Callable[[], None]:
    kwargs = (
        {}
        if mode == "vector_entry_point"
        else {"autoreset_mode": gym.vector.AutoresetMode.SAME_STEP}
    )
    envs = gym.make_vec(
        "CartPole-v1", num_envs=copies, vectorization_mode=mode, vector_kwargs=kwargs
    )
    envs.reset(seed=0)
    actions = np.random.default_rng(0).integers(0, 2, (steps, copies))

    def run() -> None:
        for t in range(steps):
            envs.step(actions[t])

    return run


def best_rates(runs: dict[str, Callable[[], None]], env_steps: int, repeats: int) -> dict:
    """Env steps/s of each run, the best of `repeats` timings taken in turn (after a warm-up)."""
    best = dict.fromkeys(runs, 0.0)
    for _ in range(repeats + 1):
        for name, run in runs.items():
            start = time.perf_counter()
            run()
            best[name] = max(best[name], env_steps / (time.perf_counter() - start))
    return best


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, nargs="+", default=[8, 256, 4096, 65536])
    parser.add_argument("--steps", type=int, default=500, help="vector steps per measurement")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs; the best counts")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(f"torch {torch.__version__}, {args.threads} CPU threads, devices: {', '.join(devices)}")
    header = f"{'copies':>7} {'device':>6} {'torch f32':>12} {'torch f64':>12} "
    print(header + f"{'numpy-vector':>13} {'sync-vector':>12} {'f32/numpy':>10} {'f64/numpy':>10}")
    for copies in args.copies:
        steps = max(20, min(args.steps, 2_000_000 // copies))
        numpy_run = {"numpy": gymnasium_stepper(copies, steps, "vector_entry_point")}
        sync_vector = None
        if copies <= SYNC_MAX_COPIES:
            sync_steps = max(5, steps // 10)
            sync_run = {"sync": gymnasium_stepper(copies, sync_steps, "sync")}
            sync_vector = best_rates(sync_run, copies * sync_steps, 1)["sync"]
        for device in devices:
            runs = {
                **numpy_run,
                "f32": torch_stepper(copies, steps, device, torch.float32),
                "f64": torch_stepper(copies, steps, device, torch.float64),
            }
            rate = best_rates(runs, copies * steps, args.repeats)
            sync_text = f"{sync_vector:12.3g}" if sync_vector else f"{'-':>12}"
            print(
                f"{copies:>7} {device:>6} {rate['f32']:12.3g} {rate['f64']:12.3g} "
                f"{rate['numpy']:13.3g} {sync_text} "
                f"{rate['f32'] / rate['numpy']:10.2f} {rate['f64'] / rate['numpy']:10.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
