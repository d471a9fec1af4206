"""The `Agent` interface every agent, hand-written or baseline, implements, and its registry."""

from __future__ import annotations

from typing import Any, ClassVar, Protocol, runtime_checkable

import torch
from gymnasium import spaces
from torch import Tensor

from rlbox.errors import RlboxError
from rlbox.registry import Registry


@runtime_checkable
class Agent(Protocol):
    """An agent trains on the vector env it was built with and acts on batches of observations.

    Built as `cls(env, config, device=..., seed=..., horizon=...)`, where `config` is an
    instance of `cls.config_class` and `horizon` is the run's schedule horizon in environment
    steps: schedules (exploration, learning rate) run over it and hold their final values past
    it. The runner decides when training stops; `learn(steps)` takes the steps it is given.
    """

    config_class: ClassVar[type]
    action_spaces: ClassVar[tuple[type[spaces.Space], ...]]  # the action spaces it can drive
    # Optional: `requires`, (module, pip package, rlbox extra[, install command]) tuples checked
    # before a run.

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
for _name, _cls in [("ppo", "PPO"), ("a2c", "A2C"), ("dqn", "DQN"), ("sac", "SAC"), ("td3", "TD3"),
                    ("ddpg", "DDPG")]:  # fmt: skip
    AGENTS.register(f"sb3-{_name}", f"rlbox.agents.sb3:SB3{_cls}")
for _name, _target in [("dqn", "dqn:TFADQN"), ("c51", "dqn:TFAC51"),
                       ("reinforce", "reinforce:TFAReinforce"), ("ppo", "ppo:TFAPPO"),
                       ("sac", "sac:TFASAC")]:  # fmt: skip
    AGENTS.register(f"tfa-{_name}", f"rlbox.agents.tfagents.{_target}")


def check_action_space(name: str, agent_class: type[Agent], space: spaces.Space, env_id: str):
    """Raise a one-line error naming the agents that fit if `agent_class` cannot drive `space`."""
    if isinstance(space, agent_class.action_spaces):
        return
    kinds = " or ".join(k.__name__ for k in agent_class.action_spaces)
    fits = [n for n in AGENTS if isinstance(space, AGENTS.get(n).action_spaces)]
    raise RlboxError(
        f"{name} needs a {kinds} action space; {env_id} has {space}; "
        f"agents that fit: {', '.join(fits) or 'none'}"
    )


def resolve_device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)
