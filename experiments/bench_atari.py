"""Training throughput on Atari: rlbox PPO against SB3 PPO, and rlbox DQN against SB3 DQN, on
ALE/Pong-v5 with the RL Zoo's values (the `ALE/*-v5` sections of experiments/hyperparams/ppo,
sb3-ppo, dqn and sb3-dqn.yaml: PPO 8 envs, 128 steps, 4 epochs, batch 256; DQN one env,
train_freq 4, batch 32).

Both sides train on the same env, rlbox's Atari vector env (ale-py's C++ threads), SB3 through
rlbox's VecEnv adapter with its CnnPolicy: the figures compare the learning code, not two
preprocessing pipelines. Each agent is built and then timed over one `learn(steps)` call (no
evaluation, checkpoint or log in the window), in a fresh process, one after the other, with
the run's torch threads (1) on both sides. Printed: training env steps per second of each and
the ratio rlbox / SB3 (the Atari issue's target for PPO: >= 1.5).

For DQN only the speed is measured, so two values leave the Zoo's: learning starts after
1,000 steps rather than 100,000, so that gradient steps fall in the timed window, and the
replay holds 20,000 transitions rather than 100,000 (sampling cost does not depend on the
capacity; SB3's 100k buffer of obs and next obs would take 5.6 GB).

`--amp` adds a row for each own agent with its backbone under bfloat16 autocast (`amp=bf16`,
heads and losses in float32), against the same SB3 figure: an option of rlbox's own agents
that SB3 has no counterpart for, off by default.

    python experiments/bench_atari.py                       # 100k steps each; needs sb3, atari
    nice -n 19 python experiments/bench_atari.py --steps 20000 --algos ppo --amp
"""

from __future__ import annotations

import argparse
import time

from rlbox.experiments.bench_onpolicy_vs_sb3 import in_fresh_process

ENV_ID = "ALE/Pong-v5"
DQN_SPEED_ONLY = {"learning_starts": 1_000, "buffer_size": 20_000}
PAIRS = {"ppo": ("ppo", "sb3-ppo"), "dqn": ("dqn", "sb3-dqn")}


def steps_per_second(agent: str, steps: int, seed: int, overrides: dict) -> float:
    """Build `agent` on ENV_ID with its tuned values and `overrides`, and time `learn(steps)`."""
    from rlbox.run.build import build_agent, prepare

    experiment, agent_class = prepare(agent, ENV_ID, {"device": "cpu", "seed": seed, **overrides})
    model = build_agent(experiment, agent_class)
    start = time.perf_counter()
    model.learn(steps)
    return model.env_steps / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100_000, help="env steps per agent")
    parser.add_argument("--algos", nargs="+", choices=sorted(PAIRS), default=["ppo", "dqn"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--amp", action="store_true", help="also time amp=bf16 (own agents)")
    args = parser.parse_args()
    print(f"{ENV_ID}, {args.steps} env steps each, training only", flush=True)
    print(f"{'algo':<10} {'rlbox steps/s':>13} {'sb3 steps/s':>12} {'ratio':>6}", flush=True)
    for algo in args.algos:
        overrides = DQN_SPEED_ONLY if algo == "dqn" else {}
        ours, theirs = [
            in_fresh_process(steps_per_second, agent, args.steps, args.seed, overrides)
            for agent in PAIRS[algo]
        ]
        print(f"{algo:<10} {ours:>13.1f} {theirs:>12.1f} {ours / theirs:>6.2f}", flush=True)
        if args.amp:
            own = PAIRS[algo][0]
            bf16 = in_fresh_process(
                steps_per_second, own, args.steps, args.seed, {**overrides, "amp": "bf16"}
            )
            print(f"{algo + '+bf16':<10} {bf16:>13.1f} {theirs:>12.1f} {bf16 / theirs:>6.2f}")


if __name__ == "__main__":
    main()
