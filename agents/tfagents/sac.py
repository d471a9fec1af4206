"""TF-Agents' SAC (Haarnoja et al., 2018, with the learned temperature of Haarnoja et al.,
2018b): `tfa-sac`, for Box actions.

TF-Agents' SacAgent trains unchanged on TF-Agents' replay buffer, with the networks of its SAC
example: a tanh-squashed Gaussian actor (TanhNormalProjectionNetwork) and a critic over the
joined observation and action. Its targets use the discount of the next time step, so they
bootstrap after a time-limit truncation and not after a termination.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from gymnasium import spaces

from rlbox.agents.tfagents.base import (
    ReplayLoop,
    TFAgentsAgent,
    TFAOffPolicyConfig,
    activation_fn,
    loss_metrics,
)
from rlbox.config.fields import check, param


@dataclass(frozen=True)
class TFASACConfig(TFAOffPolicyConfig):
    learning_rate: float = param(3e-4, "Learning rate of actor, critics and temperature.")
    fc_layer_params: tuple[int, ...] = param((256, 256), "Hidden layer sizes (actor, critic).")
    buffer_size: int = param(1_000_000, "Replay buffer capacity (transitions).")
    learning_starts: int = param(10_000, "Env steps of random actions before learning starts.")
    batch_size: int = param(256, "Minibatch size.")
    target_update_tau: float = param(0.005, "Polyak coefficient of the target critics.")
    target_update_period: int = param(1, "Gradient steps between target updates.")
    initial_log_alpha: float = param(0.0, "Initial log of the entropy temperature.")
    reward_scale_factor: float = param(1.0, "Rewards are multiplied by this in the targets.")

    def __post_init__(self) -> None:
        super().__post_init__()
        check(0.0 < self.target_update_tau <= 1.0, "target_update_tau", "must be in (0, 1]")
        check(self.target_update_period >= 1, "target_update_period", "must be >= 1")


class TFASAC(TFAgentsAgent):
    """TF-Agents' SacAgent."""

    config_class: ClassVar[type] = TFASACConfig
    action_spaces = (spaces.Box,)

    def build(self) -> Any:
        import tensorflow as tf
        from tf_agents.agents.ddpg import critic_network
        from tf_agents.agents.sac import sac_agent, tanh_normal_projection_network
        from tf_agents.networks import actor_distribution_network

        c: TFASACConfig = self.config
        observation_spec = self.time_step_spec.observation
        actor = actor_distribution_network.ActorDistributionNetwork(
            observation_spec, self.action_spec, fc_layer_params=c.fc_layer_params,
            activation_fn=activation_fn(c.activation),
            continuous_projection_net=tanh_normal_projection_network.TanhNormalProjectionNetwork,
        )  # fmt: skip
        critic = critic_network.CriticNetwork(
            (observation_spec, self.action_spec), joint_fc_layer_params=c.fc_layer_params,
            activation_fn=activation_fn(c.activation), kernel_initializer="glorot_uniform",
            last_kernel_initializer="glorot_uniform",
        )  # fmt: skip
        self.loop = None
        return sac_agent.SacAgent(
            self.time_step_spec, self.action_spec, actor_network=actor, critic_network=critic,
            actor_optimizer=self.optimizer(), critic_optimizer=self.optimizer(),
            alpha_optimizer=self.optimizer(), target_update_tau=c.target_update_tau,
            target_update_period=c.target_update_period,
            td_errors_loss_fn=tf.math.squared_difference, gamma=c.gamma,
            reward_scale_factor=c.reward_scale_factor, initial_log_alpha=c.initial_log_alpha,
            gradient_clipping=c.gradient_clipping or None, train_step_counter=self.train_step,
        )  # fmt: skip

    def replay(self) -> ReplayLoop:
        if self.loop is None:
            self.loop = ReplayLoop(self, self.config)
        return self.loop

    def train_until(self, target: int) -> dict[str, float]:
        metrics = loss_metrics(self.replay().run(target)["losses"])
        # SacAgent keeps the temperature as log alpha; TF-Agents has no public accessor.
        metrics["alpha"] = float(np.exp(self.agent._log_alpha.numpy()))
        return metrics

    def replay_buffer(self) -> Any:
        return self.replay().buffer

    def counters(self) -> dict[str, Any]:
        return {**super().counters(), "since_update": self.replay().since_update}

    def load_counters(self, counters: dict[str, Any]) -> None:
        self.replay().since_update = int(counters["since_update"])
