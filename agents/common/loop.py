"""The rollout loop every off-policy agent shares: act -> env step -> observe -> update; and
what every agent's `learn` reports about the environment steps it took.

The agent decides what acting means (exploration) and when it learns (inside `update`); the
loop only steps, counts and aggregates metrics. Metrics stay tensors on the agent's device
until the end of the chunk, so the loop never waits for the device. The on-policy agents step
the env in their own collection call (agents/common/onpolicy.py), which returns whole rollouts,
and report through the same `ChunkMetrics`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import torch
from torch import Tensor

from rlbox.envs.base import Step, VectorEnv


class StepwiseAgent(Protocol):
    """An agent as `run_loop` drives it, one vector step at a time (Acme's actor contract)."""

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

    def start(self, env: VectorEnv) -> Tensor:
        """The observation to act on; on a fresh start or a resume without the env's state, a
        reset, reseeded so that a resumed run draws new episodes."""
        if self.obs is None:
            self.obs = env.reset(seed=self.seed + self.env_steps)
        return self.obs

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


class ChunkMetrics:
    """What one `learn` call reports: the mean of each update's metrics, and the number, mean
    return and mean length of the episodes that ended. Sums stay on the device until `result`."""

    def __init__(self, device: torch.device) -> None:
        self.sums: dict[str, Tensor | float] = {}
        self.updates = 0
        self.return_sum = torch.zeros((), dtype=torch.float64, device=device)
        self.length_sum = torch.zeros((), dtype=torch.float64, device=device)
        self.episodes = torch.zeros((), dtype=torch.int64, device=device)

    def add_step(self, step: Step) -> None:
        done = step.episode_end
        self.return_sum += (step.episode_return * done).sum()
        self.length_sum += (step.episode_length * done).sum()
        self.episodes += done.sum()

    def add_update(self, metrics: dict[str, Tensor | float]) -> None:
        self.updates += 1
        for key, value in metrics.items():
            value = value.detach() if isinstance(value, Tensor) else value
            self.sums[key] = self.sums.get(key, 0.0) + value

    def result(self) -> dict[str, float]:
        """Plain floats: the one point where the chunk waits for the device."""
        out = {key: float(value) / self.updates for key, value in self.sums.items()}
        n = int(self.episodes)
        out["episodes"] = float(n)
        if n:
            out["train_return"] = float(self.return_sum) / n
            out["train_length"] = float(self.length_sum) / n
        return out


def run_loop(
    agent: StepwiseAgent, env: VectorEnv, state: LoopState, steps: int
) -> dict[str, float]:
    """Step `env` for `steps` more environment steps (rounded up to whole vector steps)."""
    obs = state.start(env)
    target = state.env_steps + steps
    metrics = ChunkMetrics(env.device)
    while state.env_steps < target:
        action = agent.explore(obs, state.env_steps)
        step = env.step(action)
        agent.observe(obs, action, step)
        obs = state.obs = step.obs
        state.env_steps += env.num_envs
        metrics.add_step(step)
        update = agent.update(state.env_steps)
        if update:
            metrics.add_update(update)
    return metrics.result()
