"""TF-Agents' REINFORCE (Williams, 1992) with a learned value baseline: `tfa-reinforce`.

TF-Agents' ReinforceAgent trains unchanged on whole episodes: the collect policy plays until
`episodes_per_update` episodes have ended (summed over env copies), and the agent takes one
gradient step on the Monte Carlo returns of those episodes, with the value network's estimate
subtracted. Steps of an episode still running at that point are dropped from the update.
Returns stop at every episode end, truncated or terminated.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from gymnasium import spaces

from rlbox.agents.tfagents.base import (
    RolloutLoop,
    TFAConfig,
    TFAgentsAgent,
    loss_metrics,
)
from rlbox.config.fields import check, param


@dataclass(frozen=True)
class TFAReinforceConfig(TFAConfig):
    episodes_per_update: int = param(2, "Complete episodes per gradient step.")
    use_value_network: bool = param(True, "Subtract a learned value baseline.")
    value_estimation_loss_coef: float = param(0.2, "Weight of the value loss.")
    normalize_returns: bool = param(True, "Normalise the returns of each update.")
    entropy_regularization: float = param(0.0, "Weight of the entropy bonus.")

    def __post_init__(self) -> None:
        super().__post_init__()
        check(self.episodes_per_update >= 1, "episodes_per_update", "must be >= 1")


class TFAReinforce(TFAgentsAgent):
    """TF-Agents' ReinforceAgent."""

    config_class: ClassVar[type] = TFAReinforceConfig
    action_spaces = (spaces.Discrete, spaces.Box)

    def build(self) -> Any:
        from tf_agents.agents.reinforce import reinforce_agent

        from rlbox.agents.tfagents.networks import actor_and_value

        c: TFAReinforceConfig = self.config
        actor, value = actor_and_value(self, with_value=c.use_value_network)
        self.loop = None
        return reinforce_agent.ReinforceAgent(
            self.time_step_spec, self.action_spec, actor_network=actor, optimizer=self.optimizer(),
            value_network=value, value_estimation_loss_coef=c.value_estimation_loss_coef,
            gamma=c.gamma, normalize_returns=c.normalize_returns,
            entropy_regularization=c.entropy_regularization or None,
            gradient_clipping=c.gradient_clipping or None, train_step_counter=self.train_step,
        )  # fmt: skip

    def rollouts(self) -> RolloutLoop:
        if self.loop is None:
            self.loop = RolloutLoop(self)
        return self.loop

    def train_until(self, target: int) -> dict[str, float]:
        loop, wanted = self.rollouts(), self.config.episodes_per_update
        losses = []
        while self.env_steps < target:
            loop.collect(max_steps=target - self.env_steps, max_episodes=wanted - loop.episodes)
            if loop.episodes >= wanted:
                losses.append(loop.train_on_rollout())
        return loss_metrics(losses)
