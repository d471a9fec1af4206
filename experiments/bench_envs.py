"""Env steps/s of rlbox's torch-native CartPole against Gymnasium's numpy-vectorized CartPole
(`vector_entry_point`, the fastest CPU reference) and its SyncVectorEnv, at several numbers of
copies, on the CPU and on CUDA when there is one. Random actions are drawn before the clock
starts; every env steps with same-step autoreset of finished copies.

    python experiments/bench_envs.py                      # 8, 256, 4096, 65536 copies
    python experiments/bench_envs.py --copies 4096 --steps 200
"""

from __future__ import annotations

import argparse
import time

import gymnasium as gym
import numpy as np
import torch

from rlbox.envs.torch_classic import CartPole

SYNC_MAX_COPIES = 4096  # SyncVectorEnv steps copies one by one: beyond this it takes minutes


def torch_sps(copies: int, steps: int, device: str, dtype: torch.dtype) -> float:
    env = CartPole(copies, device=device, dtype=dtype)
    env.reset(seed=0)
    actions = torch.randint(0, 2, (steps, copies), device=device)
    for t in range(min(steps, 10)):  # warm-up
        env.step(actions[t])
    sync(device)
    start = time.perf_counter()
    for t in range(steps):
        env.step(actions[t])
    sync(device)
    return copies * steps / (time.perf_counter() - start)


def gymnasium_sps(copies: int, steps: int, mode: str) -> float:
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
    start = time.perf_counter()
    for t in range(steps):
        envs.step(actions[t])
    seconds = time.perf_counter() - start
    envs.close()
    return copies * steps / seconds


def sync(device: str) -> None:
    if device.startswith("cuda"):
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--copies", type=int, nargs="+", default=[8, 256, 4096, 65536])
    parser.add_argument("--steps", type=int, default=500, help="vector steps per measurement")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    print(f"torch {torch.__version__}, {args.threads} CPU threads, devices: {', '.join(devices)}")
    header = f"{'copies':>7} {'device':>6} {'torch f32':>12} {'torch f64':>12} "
    print(header + f"{'numpy-vector':>13} {'sync-vector':>12} {'f32/numpy':>10} {'f64/numpy':>10}")
    for copies in args.copies:
        steps = max(20, min(args.steps, 2_000_000 // copies))
        numpy = gymnasium_sps(copies, steps, "vector_entry_point")
        sync_vector = (
            gymnasium_sps(copies, max(5, steps // 10), "sync")
            if copies <= SYNC_MAX_COPIES
            else None
        )
        for device in devices:
            f32 = torch_sps(copies, steps, device, torch.float32)
            f64 = torch_sps(copies, steps, device, torch.float64)
            sync_text = f"{sync_vector:12.3g}" if sync_vector else f"{'-':>12}"
            print(
                f"{copies:>7} {device:>6} {f32:12.3g} {f64:12.3g} {numpy:13.3g} {sync_text} "
                f"{f32 / numpy:10.2f} {f64 / numpy:10.2f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
