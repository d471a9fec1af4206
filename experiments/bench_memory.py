"""Memory matters: PPO on rlbox/CartPoleNoVel-v1 (CartPole without its two velocities, a POMDP)
with a sequence backbone over the last 8 observations, against PPO with an MLP on the bare
observation and against sb3-contrib's RecurrentPPO (an LSTM policy) with the RL Zoo's values.

- `ppo --backbone gru` and `ppo --backbone transformer`: rlbox's PPO, the env's HistoryWindow
  giving the backbone the last 8 observations (`backbone.window`); its tuned section
  `rlbox/CartPoleNoVel-v1` in experiments/hyperparams/ppo.yaml;
- `ppo --backbone mlp`: the same PPO on the bare observation (no window), which cannot tell
  the velocities and should stay far below;
- `RecurrentPPO`: sb3-contrib's, MlpLstmPolicy, the RL Zoo's CartPoleNoVel-v1 values
  (rl-baselines3-zoo hyperparams/ppo_lstm.yml: 8 envs, n_steps 32, batch 256, 20 epochs,
  gamma 0.98, gae_lambda 0.8, lr lin_1e-3, clip lin_0.2, no entropy bonus), trained on rlbox's
  vector env through the SB3 adapter and scored by the same final evaluation (20 episodes on
  the reporting seeds), its LSTM state carried through each episode.

All at the same budget (200k env steps by default), seeds 0..N-1. Printed: per variant the final
evaluation of each seed, their mean ± std and seconds per run; then the issue's checks (gru and
transformer >= 400, mlp < 200).

    python experiments/bench_memory.py                  # 3 seeds, 200k steps: about an hour
    python experiments/bench_memory.py --seeds 1 --variants gru mlp
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time

from rlbox.experiments.bench_onpolicy_vs_sb3 import in_fresh_process

ENV_ID = "rlbox/CartPoleNoVel-v1"
RL_ZOO = {  # rl-baselines3-zoo, hyperparams/ppo_lstm.yml, CartPoleNoVel-v1
    "n_steps": 32, "batch_size": 256, "gae_lambda": 0.8, "gamma": 0.98, "n_epochs": 20,
    "ent_coef": 0.0, "learning_rate": 1e-3, "clip_range": 0.2,
}  # fmt: skip
ZOO_ENVS = 8
VARIANTS = ("gru", "transformer", "mlp", "RecurrentPPO")


def train_rlbox(backbone: str, steps: int, seed: int, out: str) -> tuple[float, float]:
    """(final evaluation mean, training seconds) of rlbox PPO with `backbone`."""
    import rlbox

    result = rlbox.train(
        "ppo", ENV_ID, steps=steps, seed=seed, out=out, overrides={"backbone": backbone}
    )
    return result.eval_return_mean, result.train_seconds


def train_recurrent_ppo(steps: int, seed: int) -> tuple[float, float]:
    """(final evaluation mean, training seconds) of sb3-contrib's RecurrentPPO, evaluated as the
    runner evaluates rlbox's agents: the reporting seeds, final_eval_episodes episodes."""
    import numpy as np
    import torch
    from sb3_contrib import RecurrentPPO
    from stable_baselines3.common.utils import LinearSchedule

    from rlbox import envs
    from rlbox.agents.sb3.vec_env import as_vec_env
    from rlbox.config.experiment import RunConfig
    from rlbox.run.evaluation import evaluate
    from rlbox.run.runner import REPORT_SEED_OFFSET

    torch.set_num_threads(RunConfig.torch_threads)
    zoo = {**RL_ZOO, "learning_rate": LinearSchedule(1e-3, 0.0, 1.0)}
    zoo["clip_range"] = LinearSchedule(0.2, 0.0, 1.0)
    venv = as_vec_env(envs.make(ENV_ID, ZOO_ENVS, seed=seed))
    model = RecurrentPPO("MlpLstmPolicy", venv, seed=seed, device="cpu", verbose=0, **zoo)
    start = time.perf_counter()
    model.learn(steps)
    seconds = time.perf_counter() - start

    episodes = RunConfig.final_eval_episodes
    memory = {"state": None, "start": np.ones(episodes, dtype=bool)}

    def act(obs: torch.Tensor) -> torch.Tensor:
        # each copy plays one episode: its LSTM state starts fresh at the first step only
        action, memory["state"] = model.predict(
            obs.numpy(), state=memory["state"], episode_start=memory["start"], deterministic=True
        )
        memory["start"] = np.zeros(episodes, dtype=bool)
        return torch.as_tensor(action)

    result = evaluate(act, ENV_ID, episodes, seed=seed + REPORT_SEED_OFFSET)
    return result.mean, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=200_000)
    parser.add_argument("--variants", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    args = parser.parse_args()
    out = tempfile.mkdtemp(prefix="rlbox-memory-")
    print(f"{ENV_ID}, {args.steps} env steps, seeds 0..{args.seeds - 1}", flush=True)
    print(f"{'variant':<13} {'final evaluation per seed':<34} {'mean ± std':>16} {'s/run':>7}")
    finals_of: dict[str, list[float]] = {}
    for variant in args.variants:
        finals, seconds = [], []
        for seed in range(args.seeds):
            if variant == "RecurrentPPO":
                final, secs = in_fresh_process(train_recurrent_ppo, args.steps, seed)
            else:
                final, secs = in_fresh_process(train_rlbox, variant, args.steps, seed, out)
            finals.append(final)
            seconds.append(secs)
        std = statistics.pstdev(finals) if len(finals) > 1 else 0.0
        finals_of[variant] = finals
        per_seed = " ".join(f"{f:7.1f}" for f in finals)
        print(
            f"{variant:<13} {per_seed:<34} {statistics.mean(finals):7.1f} ± {std:6.1f} "
            f"{statistics.mean(seconds):7.1f}",
            flush=True,
        )
    checks = {"gru": (">=", 400.0), "transformer": (">=", 400.0), "mlp": ("<", 200.0)}
    for variant, (op, bound) in checks.items():
        if variant in finals_of:
            finals = finals_of[variant]
            ok = all(f >= bound if op == ">=" else f < bound for f in finals)
            print(f"{variant}: every seed {op} {bound:.0f}: {'yes' if ok else 'NO'}")
    print(f"runs in {out}")


if __name__ == "__main__":
    main()
