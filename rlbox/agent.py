"""The `Agent` interface every agent, hand-written or baseline, implements."""

from __future__ import annotations

from typing import Any, ClassVar, Protocol, runtime_checkable

from gymnasium import spaces
from torch import Tensor


@runtime_checkable
class Agent(Protocol):
    """An agent trains on the vector env it was built with and acts on batches of observations.

    Built as `cls(env, config, device=..., seed=..., horizon=...)`, where `config` is an
    instance of `cls.config_class` and `horizon` is the run's schedule horizon in environment
    steps: schedules (exploration, learning rate) run over it and hold their final values past
    it. The runner decides when training stops; `learn(steps)` takes the steps it is given.

    An agent that builds its networks through `rlbox.nn` declares `default_backbone` (a
    `BackboneSpec`), takes `backbone=` (the run's config section `backbone`) and lists the
    backbones it built with `backbones()` (what `backbone.init_from` loads). sb3-* agents
    declare `optional_backbone = True`: their library's network, or a named rlbox backbone as
    its features extractor. tfa-* agents size their networks with their library's keys only.
    """

    config_class: ClassVar[type]
    action_spaces: ClassVar[tuple[type[spaces.Space], ...]]  # the action spaces it can drive
    # Optional: `requires`, (module, pip package, rlbox extra[, install command]) tuples checked
    # before a run; `default_backbone` (see above); `trains_on_atari = False` for an agent
    # whose library cannot take rlbox's Atari envs (a one-line error instead).

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
