"""The cost of one PPO update on 84x84 frame stacks by backbone, precision and compilation.

PPO with the RL Zoo's Atari values (ALE/Pong-v5: 8 envs x 128 steps, 4 epochs of minibatches
of 256, so 16 gradient steps per update) is built with each backbone, collects one rollout, and
then times `train` on that rollout: the mean of `--repeats` updates after one untimed update
(which is where `compile=true` compiles). Variants: full precision, `amp=bf16` (the backbone
under bfloat16 autocast, heads and losses float32), `compile=true`, and both.

    python experiments/bench_backbone_update.py                      # nature_cnn and resnet
    python experiments/bench_backbone_update.py --backbones nature_cnn --device cuda
"""

from __future__ import annotations

import argparse
import time

from rlbox.experiments.bench_onpolicy_vs_sb3 import in_fresh_process

ENV_ID = "ALE/Pong-v5"
VARIANTS = {
    "fp32": {},
    "amp=bf16": {"amp": "bf16"},
    "compile": {"compile": True},
    "amp=bf16+compile": {"amp": "bf16", "compile": True},
}


def update_seconds(backbone: str, variant: dict, device: str, repeats: int) -> float:
    """Mean seconds of one PPO update with `backbone` and the `variant`'s keys."""
    import torch

    from rlbox.agents.common.loop import ChunkMetrics
    from rlbox.run.build import build_agent, prepare

    overrides = {"device": device, "backbone": backbone, **variant}
    experiment, agent_class = prepare("ppo", ENV_ID, overrides)
    agent = build_agent(experiment, agent_class)
    agent.loop.start(agent.env)
    rollout = agent.collect_rollout(10**9, ChunkMetrics(agent.env.device))
    agent.train(rollout)  # warm-up: compilation, allocator, oneDNN's kernel choice
    times = []
    for _ in range(repeats):
        if device != "cpu":
            torch.cuda.synchronize()
        start = time.perf_counter()
        agent.train(rollout)
        if device != "cpu":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return sum(times) / len(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbones", nargs="+", default=["nature_cnn", "resnet"])
    parser.add_argument("--variants", nargs="+", choices=sorted(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"PPO update on {ENV_ID} (16 gradient steps of 256 x 4x84x84), {args.device}")
    print(f"{'backbone':<11} {'variant':<17} {'s/update':>9} {'ms/step':>8} {'vs fp32':>8}")
    for backbone in args.backbones:
        base = None
        for name in args.variants:
            seconds = in_fresh_process(
                update_seconds, backbone, VARIANTS[name], args.device, args.repeats
            )
            base = seconds if name == "fp32" else base
            ratio = f"{base / seconds:7.2f}x" if base else ""
            print(
                f"{backbone:<11} {name:<17} {seconds:9.2f} {seconds / 16 * 1000:8.1f} {ratio:>8}",
                flush=True,
            )


if __name__ == "__main__":
    main()
