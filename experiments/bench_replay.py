"""Pixel replay on Atari: rlbox's frame-once buffer against SB3's ReplayBuffer, memory and speed.

Both buffers take the same 100k-transition capacity and the same real frames (ALE/Pong-v5,
8 envs, uniformly random actions, stepped until both have wrapped). Printed:

- bytes per stored transition: rlbox, every tensor the buffer holds over the transitions in it
  (each frame once, plus the older frames of a stack after each reset and each game's final
  frame); SB3 with `optimize_memory_usage=True`, its arrays' nbytes over its capacity (each
  stack once; its next obs is the next slot's obs, so at a reset it is the new game's first one);
- the time to sample a batch of 32, median of rounds run alternately: rlbox with 3-step
  returns folded at sample time, SB3's `sample(32)`, which has no n-step returns (one-step
  transitions only). CPU, one torch thread. glibc's malloc gets fixed thresholds first: left
  dynamic, they follow the allocation history, and once SB3's 0.9 MB arrays have been freed
  rlbox's 1.8 MB batch came from fresh pages each time (about +200 us of page faults), an
  effect of sampling both in one process rather than of either buffer.

    python experiments/bench_replay.py    # needs the atari and sb3 extras; 1-2 minutes, 4 GB
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import statistics
import time
from collections.abc import Callable

import numpy as np
import torch

from rlbox.agents.common.frame_replay import STEP, FrameReplayBuffer
from rlbox.agents.common.replay import SumTree

CAPACITY = 100_000
NUM_ENVS = 8
BATCH = 32
N_STEP = 3


def fill(steps: int, seed: int) -> tuple[FrameReplayBuffer, object]:
    from rlbox.compat import tensorboard_without_tensorflow

    tensorboard_without_tensorflow()  # SB3 imports TensorBoard
    from stable_baselines3.common.buffers import ReplayBuffer

    import rlbox.envs

    env = rlbox.envs.make("ALE/Pong-v5", num_envs=NUM_ENVS, seed=seed)
    space = env.single_observation_space
    ours = FrameReplayBuffer(CAPACITY, NUM_ENVS, space.shape, torch.uint8, torch.device("cpu"),
                             n_step=N_STEP, gamma=0.99)  # fmt: skip
    sb3 = ReplayBuffer(CAPACITY, space, env.single_action_space, device="cpu", n_envs=NUM_ENVS,
                       optimize_memory_usage=True, handle_timeout_termination=False)  # fmt: skip
    generator = torch.Generator().manual_seed(seed)
    obs = env.reset(seed=seed)
    infos = [{} for _ in range(NUM_ENVS)]
    for _ in range(steps):
        action = torch.randint(int(env.single_action_space.n), (NUM_ENVS,), generator=generator)
        step = env.step(action)
        ours.add(obs, action, step)
        sb3.add(obs.numpy(), step.final_obs.numpy(), action.numpy()[:, None], step.reward.numpy(),
                step.done.numpy(), infos)  # fmt: skip
        obs = step.obs
    env.close()
    return ours, sb3


def fixed_malloc_thresholds() -> None:
    """glibc: serve allocations below 64 MB from the heap and never trim it (mallopt)."""
    m_trim_threshold, m_mmap_threshold = -1, -3
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        libc.mallopt(m_mmap_threshold, 64 << 20)
        libc.mallopt(m_trim_threshold, 256 << 20)
    except (OSError, AttributeError):  # not glibc
        pass


def per_batch_us(sample: Callable[[], object], repeats: int) -> float:
    start = time.perf_counter()
    for _ in range(repeats):
        sample()
    return (time.perf_counter() - start) / repeats * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=13_000, help="vector steps of filling")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--repeats", type=int, default=200)
    args = parser.parse_args()
    torch.set_num_threads(1)
    fixed_malloc_thresholds()

    start = time.perf_counter()
    ours, sb3 = fill(args.steps, seed=0)
    seconds = time.perf_counter() - start
    print(f"filled with {args.steps * NUM_ENVS:,} Pong transitions "
          f"({args.steps:,} steps of {NUM_ENVS} envs) in {seconds:.0f} s")  # fmt: skip

    held = int((ours.kind == STEP).sum())
    ours_bytes = sum(t.nbytes for t in vars(ours).values() if isinstance(t, torch.Tensor))
    tree_bytes = SumTree(ours.valid.numel(), torch.device("cpu")).nodes.nbytes
    arrays = ("observations", "next_observations", "actions", "rewards", "dones", "timeouts")
    sb3_bytes = sum(getattr(sb3, a).nbytes for a in arrays if getattr(sb3, a, None) is not None)
    ours_per, sb3_per = ours_bytes / held, sb3_bytes / CAPACITY
    print(f"rlbox  {ours_per:8,.0f} bytes per stored transition ({held:,} held, {len(ours):,} "
          f"sampleable; prioritized adds {tree_bytes / held:.0f} for its sum tree)")  # fmt: skip
    print(f"SB3    {sb3_per:8,.0f} bytes per stored transition (optimize_memory_usage=True)")
    print(f"ratio  SB3 / rlbox = {sb3_per / ours_per:.2f}x")

    generator = torch.Generator().manual_seed(1)
    np.random.seed(1)
    ours_times, sb3_times = [], []
    for _ in range(args.rounds):  # alternated, so that a change in the machine's load hits both
        ours_times.append(per_batch_us(lambda: ours.sample(BATCH, generator), args.repeats))
        sb3_times.append(per_batch_us(lambda: sb3.sample(BATCH), args.repeats))
    ours_us, sb3_us = statistics.median(ours_times), statistics.median(sb3_times)
    print(f"rlbox  {ours_us:8.0f} us per batch of {BATCH} ({N_STEP}-step returns)")
    print(f"SB3    {sb3_us:8.0f} us per batch of {BATCH} (sample(32); no n-step returns)")
    print(f"ratio  SB3 / rlbox = {sb3_us / ours_us:.2f}x")


if __name__ == "__main__":
    main()
