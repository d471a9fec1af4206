"""TF-Agents' PPO with the clipped surrogate objective (Schulman et al., 2017): `tfa-ppo`.

TF-Agents' PPOClipAgent trains unchanged: each rollout of `n_steps` steps per env copy is one
batch, on which it takes `num_epochs` full-batch gradient steps (it has no minibatches), with
GAE and its own running normalisation of observations and rewards. Its returns stop at every
episode end, so a time-limit truncation is treated as the end of the task (TF-Agents masks the
discount at every LAST step).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from gymnasium import spaces

from rlbox.agents.tfagents.base import (
    RolloutLoop,
    TFAConfig,
    TFAgentsAgent,
    loss_metrics,
)
from rlbox.config.fields import check, param


@dataclass(frozen=True)
class TFAPPOConfig(TFAConfig):
    fc_layer_params: tuple[int, ...] = param((200, 100), "Hidden layer sizes (actor, value).")
    lr_schedule: Literal["constant", "linear"] = param(
        "constant", "'linear' decays the learning rate to 0 over the schedule horizon."
    )
    n_steps: int = param(2048, "Env steps per copy in each rollout.")
    num_epochs: int = param(25, "Full-batch gradient steps on each rollout.")
    importance_ratio_clipping: float = param(0.2, "Clip the probability ratio to 1 ± this.")
    lambda_value: float = param(0.95, "GAE lambda.")
    use_gae: bool = param(True, "Generalized advantage estimation (else Monte Carlo returns).")
    entropy_regularization: float = param(0.0, "Weight of the entropy bonus.")
    value_pred_loss_coef: float = param(0.5, "Weight of the value loss.")
    normalize_observations: bool = param(True, "Running normalisation of observations.")
    normalize_rewards: bool = param(True, "Running normalisation of rewards.")

    def __post_init__(self) -> None:
        super().__post_init__()
        check(self.n_steps >= 2, "n_steps", f"must be >= 2, got {self.n_steps}")
        check(self.num_epochs >= 1, "num_epochs", f"must be >= 1, got {self.num_epochs}")
        check(self.importance_ratio_clipping > 0, "importance_ratio_clipping", "must be > 0")


class TFAPPO(TFAgentsAgent):
    """TF-Agents' PPOClipAgent."""

    config_class: ClassVar[type] = TFAPPOConfig
    action_spaces = (spaces.Discrete, spaces.Box)

    def build(self) -> Any:
        from tf_agents.agents.ppo import ppo_clip_agent

        from rlbox.agents.tfagents.networks import actor_and_value

        c: TFAPPOConfig = self.config
        actor, value = actor_and_value(self)
        self.adam = self.optimizer()
        self.loop = None
        return ppo_clip_agent.PPOClipAgent(
            self.time_step_spec, self.action_spec, optimizer=self.adam, actor_net=actor,
            value_net=value, importance_ratio_clipping=c.importance_ratio_clipping,
            lambda_value=c.lambda_value, discount_factor=c.gamma,
            entropy_regularization=c.entropy_regularization,
            value_pred_loss_coef=c.value_pred_loss_coef, num_epochs=c.num_epochs,
            use_gae=c.use_gae, normalize_rewards=c.normalize_rewards,
            normalize_observations=c.normalize_observations,
            gradient_clipping=c.gradient_clipping or None, train_step_counter=self.train_step,
        )  # fmt: skip

    def rollouts(self) -> RolloutLoop:
        if self.loop is None:
            self.loop = RolloutLoop(self)
        return self.loop

    def train_until(self, target: int) -> dict[str, float]:
        loop, size = self.rollouts(), self.config.n_steps * self.py_env.batch_size
        losses = []
        while self.env_steps < target:
            loop.collect(max_steps=min(size - loop.steps, target - self.env_steps))
            if loop.steps >= size:
                self.adam.learning_rate = self.learning_rate_at(self.env_steps)
                losses.append(loop.train_on_rollout())
        metrics = loss_metrics(losses)
        metrics["learning_rate"] = self.learning_rate_at(self.env_steps)
        return metrics
