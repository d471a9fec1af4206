"""The rollout loop every hand-written agent shares: act -> env step -> observe -> update.

The agent decides what acting means (exploration) and when it learns (inside `update`); the
loop only steps, counts and aggregates metrics. Metrics stay tensors on the agent's device
until the end of the chunk, so the loop never waits for the device.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import torch
from torch import Tensor

from rlbox.envs.base import Step, VectorEnv


class Learner(Protocol):
    def explore(self, obs: Tensor, env_steps: int) -> Tensor:
        """Actions to take while training (e.g. epsilon-greedy)."""
        ...

    def observe(self, obs: Tensor, action: Tensor, step: Step) -> None:
        """Record what the action led to."""
        ...

    def update(self, env_steps: int) -> dict[str, Tensor | float] | None:
        """Learn if it is time to; return scalar tensors to log, or None."""
        ...


@dataclass
class LoopState:
    """Where the loop is: what a `learn` call continues from."""

    seed: int
    env_steps: int = 0
    obs: Tensor | None = None

    def state_dict(self, env: VectorEnv) -> dict[str, Any]:
        """The step count and, where the env can save its state (the torch-native envs), the
        env and the current observation, so that a resume continues the same episodes."""
        state: dict[str, Any] = {"env_steps": self.env_steps}
        if self.obs is not None and hasattr(env, "state_dict"):
            state["obs"] = self.obs
            state["env"] = env.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any], env: VectorEnv) -> None:
        """Restore; without a saved env state the next `learn` resets the env with new seeds
        (Gymnasium's envs: the episodes in progress at the checkpoint are not continued)."""
        self.env_steps = int(state["env_steps"])
        self.obs = None
        if "env" in state and hasattr(env, "load_state_dict"):
            env.load_state_dict(state["env"])
            self.obs = state["obs"].to(env.device)


def run_loop(learner: Learner, env: VectorEnv, state: LoopState, steps: int) -> dict[str, float]:
    """Step `env` for `steps` more environment steps (rounded up to whole vector steps)."""
    if state.obs is None:
        # A fresh start or a resume: reseed so that a resumed run draws new episodes.
        state.obs = env.reset(seed=state.seed + state.env_steps)
    target = state.env_steps + steps
    sums: dict[str, Tensor | float] = {}
    updates = 0
    return_sum = torch.zeros((), dtype=torch.float64, device=env.device)
    length_sum = torch.zeros((), dtype=torch.float64, device=env.device)
    episodes = torch.zeros((), dtype=torch.int64, device=env.device)
    while state.env_steps < target:
        action = learner.explore(state.obs, state.env_steps)
        step = env.step(action)
        learner.observe(state.obs, action, step)
        state.obs = step.obs
        state.env_steps += env.num_envs
        done = step.done
        return_sum += (step.episode_return * done).sum()
        length_sum += (step.episode_length * done).sum()
        episodes += done.sum()
        metrics = learner.update(state.env_steps)
        if metrics:
            updates += 1
            for key, value in metrics.items():
                value = value.detach() if isinstance(value, Tensor) else value
                sums[key] = sums.get(key, 0.0) + value
    out = {key: float(value) / updates for key, value in sums.items()}
    n = int(episodes)
    out["episodes"] = float(n)
    if n:
        out["train_return"] = float(return_sum) / n
        out["train_length"] = float(length_sum) / n
    return out
