"""The `Agent` interface every agent, hand-written or baseline, implements, and its registry."""

from __future__ import annotations

from typing import Any, ClassVar, Protocol, runtime_checkable

import torch
from torch import Tensor

from rlbox.registry import Registry


@runtime_checkable
class Agent(Protocol):
    """An agent trains on the vector env it was built with and acts on batches of observations.

    Built as `cls(env, config, device=..., seed=..., budget=...)`, where `config` is an instance
    of `cls.config_class` and `budget` is the run's total number of environment steps, over
    which schedules (exploration, learning rate) are defined.
    """

    config_class: ClassVar[type]

    @property
    def env_steps(self) -> int:
        """Environment steps taken so far, summed over the vector's copies."""
        ...

    def learn(self, steps: int) -> dict[str, float]:
        """Train for `steps` more environment steps, continuing where the last call stopped.

        Returns the chunk's metrics (means of losses, of finished episodes' returns, ...).
        """
        ...

    def act(self, obs: Tensor, deterministic: bool = True) -> Tensor:
        """Actions for a batch of observations on the agent's device."""
        ...

    def state_dict(self) -> dict[str, Any]:
        """Everything a resume needs: nested dicts of tensors and plain values."""
        ...

    def load_state_dict(self, state: dict[str, Any]) -> None: ...


AGENTS: Registry[type[Agent]] = Registry("agent")
AGENTS.register("dqn", "rlbox.agents.dqn:DQN")
AGENTS.register("reinforce", "rlbox.agents.reinforce:Reinforce")
AGENTS.register("a2c", "rlbox.agents.a2c:A2C")
AGENTS.register("ppo", "rlbox.agents.ppo:PPO")


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)
