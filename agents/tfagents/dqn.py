"""TF-Agents' DQN (Mnih et al., 2015), its double-DQN variant (van Hasselt et al., 2016) and
C51 (Bellemare et al., 2017): `tfa-dqn` and `tfa-c51`.

TF-Agents' DqnAgent / DdqnAgent / CategoricalDqnAgent train unchanged on TF-Agents' replay
buffer; rlbox adds the step accounting, a linear epsilon schedule over the schedule horizon
(DqnAgent takes epsilon as a callable, read at every action) and the checkpoints. TF-Agents'
targets use the discount of the next time step, so they bootstrap after a time-limit truncation
(discount 1) and not after a termination (discount 0). With `n_step_update` > 1 a termination
inside the window cuts the return (its discount is 0), but a truncation does not: TF-Agents
would sum on into the next episode, so those windows get weight 0 in the loss
(`truncation_weights`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from gymnasium import spaces

from rlbox.agents.common.schedules import Linear
from rlbox.agents.tfagents.base import (
    ReplayLoop,
    TFAgentsAgent,
    TFAOffPolicyConfig,
    activation_fn,
    loss_metrics,
)
from rlbox.config.fields import check, param


@dataclass(frozen=True)
class TFADQNConfig(TFAOffPolicyConfig):
    double: bool = param(False, "Double DQN (TF-Agents' DdqnAgent).")
    lr_schedule: Literal["constant", "linear"] = param(
        "constant", "'linear' decays the learning rate to 0 over the schedule horizon."
    )
    n_step_update: int = param(1, "Steps of the n-step TD target.")
    target_update_period: int = param(5, "Gradient steps between target network updates.")
    target_update_tau: float = param(0.05, "Polyak coefficient of the target update (1: copy).")
    exploration_fraction: float = param(
        0.0, "Fraction of the schedule horizon epsilon decays over, then held."
    )
    exploration_initial_eps: float = param(0.1, "Epsilon at the start.")
    exploration_final_eps: float = param(0.1, "Epsilon after the decay.")

    def __post_init__(self) -> None:
        super().__post_init__()
        check(self.n_step_update >= 1, "n_step_update", "must be >= 1")
        check(self.target_update_period >= 1, "target_update_period", "must be >= 1")
        check(0.0 < self.target_update_tau <= 1.0, "target_update_tau", "must be in (0, 1]")
        check(0.0 <= self.exploration_fraction <= 1.0, "exploration_fraction", "must be in [0, 1]")
        for key in ("exploration_initial_eps", "exploration_final_eps"):
            check(0.0 <= getattr(self, key) <= 1.0, key, "must be in [0, 1]")


@dataclass(frozen=True)
class TFAC51Config(TFADQNConfig):
    num_atoms: int = param(51, "Atoms of the return distribution.")
    min_q_value: float = param(-20.0, "Smallest return the distribution can hold.")
    max_q_value: float = param(20.0, "Largest return the distribution can hold.")

    def __post_init__(self) -> None:
        super().__post_init__()
        check(self.num_atoms >= 2, "num_atoms", "must be >= 2")
        check(self.max_q_value > self.min_q_value, "max_q_value", "must exceed min_q_value")


class TFADQN(TFAgentsAgent):
    """TF-Agents' DqnAgent (or DdqnAgent with `double`)."""

    config_class: ClassVar[type] = TFADQNConfig
    action_spaces = (spaces.Discrete,)

    def build(self) -> Any:
        import tensorflow as tf

        c: TFADQNConfig = self.config
        self.epsilon = tf.Variable(self.epsilon_at(0), dtype=tf.float32, trainable=False)
        self.adam = self.optimizer()
        agent = self.make_agent(c)
        self.loop = None  # built after agent.initialize(), in `replay`
        return agent

    def make_agent(self, c: TFADQNConfig) -> Any:
        from tf_agents.agents.dqn import dqn_agent
        from tf_agents.networks import q_network

        network = q_network.QNetwork(
            self.time_step_spec.observation, self.action_spec,
            fc_layer_params=c.fc_layer_params, activation_fn=activation_fn(c.activation),
        )  # fmt: skip
        cls = dqn_agent.DdqnAgent if c.double else dqn_agent.DqnAgent
        return cls(self.time_step_spec, self.action_spec, q_network=network,
                   optimizer=self.adam, **self.common_kwargs(c))  # fmt: skip

    def common_kwargs(self, c: TFADQNConfig) -> dict[str, Any]:
        return {
            "epsilon_greedy": lambda: self.epsilon,
            "n_step_update": c.n_step_update,
            "target_update_tau": c.target_update_tau,
            "target_update_period": c.target_update_period,
            "gamma": c.gamma,
            "gradient_clipping": c.gradient_clipping or None,
            "train_step_counter": self.train_step,
        }

    def epsilon_at(self, step: int) -> float:
        c: TFADQNConfig = self.config
        span = c.exploration_fraction * self.horizon
        return Linear(c.exploration_initial_eps, c.exploration_final_eps, span)(step)

    def truncation_weights(self, experience: Any) -> Any:
        """Weight 0 for an n-step window with a truncation before its last step, else 1.

        Time step k of the window is LAST at `step_type[:, k]`; its discount is stored with
        the step before, at `discount[:, k - 1]` (TF-Agents' Trajectory layout)."""
        import tensorflow as tf
        from tf_agents.trajectories import time_step as ts

        n = self.config.n_step_update
        inner_last = tf.equal(experience.step_type[:, 1:n], ts.StepType.LAST)
        truncated = tf.logical_and(inner_last, experience.discount[:, : n - 1] > 0)
        return 1.0 - tf.cast(tf.reduce_any(truncated, axis=1), tf.float32)

    def replay(self) -> ReplayLoop:
        if self.loop is None:
            n = self.config.n_step_update
            weights = self.truncation_weights if n > 1 else None
            self.loop = ReplayLoop(self, self.config, n_step=n, weights=weights)
        return self.loop

    def before_update(self) -> None:
        self.epsilon.assign(self.epsilon_at(self.env_steps))
        self.adam.learning_rate = self.learning_rate_at(self.env_steps)

    def sampling_policy(self) -> Any:
        return self.agent.collect_policy

    def train_until(self, target: int) -> dict[str, float]:
        done = self.replay().run(target, before_update=self.before_update)
        return {
            **loss_metrics(done["losses"]),
            "epsilon": float(self.epsilon.numpy()),
            "learning_rate": self.learning_rate_at(self.env_steps),
        }

    def replay_buffer(self) -> Any:
        return self.replay().buffer

    def counters(self) -> dict[str, Any]:
        return {**super().counters(), "since_update": self.replay().since_update}

    def load_counters(self, counters: dict[str, Any]) -> None:
        self.replay().since_update = int(counters["since_update"])
        self.epsilon.assign(self.epsilon_at(int(counters["env_steps"])))


class TFAC51(TFADQN):
    """TF-Agents' CategoricalDqnAgent (C51)."""

    config_class: ClassVar[type] = TFAC51Config

    def make_agent(self, c: TFAC51Config) -> Any:
        from tf_agents.agents.categorical_dqn import categorical_dqn_agent
        from tf_agents.networks import categorical_q_network

        network = categorical_q_network.CategoricalQNetwork(
            self.time_step_spec.observation, self.action_spec, num_atoms=c.num_atoms,
            fc_layer_params=c.fc_layer_params, activation_fn=activation_fn(c.activation),
        )  # fmt: skip
        return categorical_dqn_agent.CategoricalDqnAgent(
            self.time_step_spec, self.action_spec, categorical_q_network=network,
            optimizer=self.adam, min_q_value=c.min_q_value, max_q_value=c.max_q_value,
            **self.common_kwargs(c),
        )  # fmt: skip
