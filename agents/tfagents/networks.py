"""A categorical policy head for TF-Agents' ActorDistributionNetwork that works with NumPy 2.

TF-Agents 0.19's CategoricalProjectionNetwork sizes its output with `int()` of a one-element
array, which NumPy 2 refuses, so its REINFORCE and PPO cannot be built on Discrete actions as
they ship. This head computes the same thing, the logits of a Categorical over the actions from
a linear layer with small initial weights, for the scalar Discrete action specs that
rlbox.agents.tfagents.env makes. This module imports TensorFlow.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf
import tensorflow_probability as tfp
from tf_agents.networks import network
from tf_agents.specs import distribution_spec, tensor_spec


class CategoricalHead(network.DistributionNetwork):
    def __init__(self, sample_spec: Any, name: str = "CategoricalHead") -> None:
        if sample_spec.shape.rank != 0:
            raise ValueError(f"CategoricalHead needs a scalar action spec, got {sample_spec}")
        num_actions = int(sample_spec.maximum.item()) - int(sample_spec.minimum.item()) + 1
        logits_spec = tensor_spec.TensorSpec([num_actions], tf.float32, name=f"{name}_logits")
        output_spec = distribution_spec.DistributionSpec(
            tfp.distributions.Categorical, {"logits": logits_spec},
            sample_spec=sample_spec, dtype=sample_spec.dtype,
        )  # fmt: skip
        super().__init__(input_tensor_spec=None, state_spec=(), output_spec=output_spec, name=name)
        self._sample_spec = sample_spec
        # Small initial logits: a near-uniform first policy, as TF-Agents' head starts.
        self._logits = tf.keras.layers.Dense(
            num_actions,
            kernel_initializer=tf.keras.initializers.VarianceScaling(scale=0.1),
            name="logits",
        )

    def call(self, inputs: Any, outer_rank: int, training: bool = False, mask: Any = None):
        logits = self._logits(tf.cast(inputs, tf.float32), training=training)
        return tfp.distributions.Categorical(logits=logits, dtype=self._sample_spec.dtype), ()


def actor_and_value(agent: Any, with_value: bool = True) -> tuple[Any, Any]:
    """The actor distribution network and value network of the on-policy `tfa-*` agents
    (REINFORCE, PPO), both with the config's hidden layers and activation."""
    from tf_agents.networks import actor_distribution_network, value_network

    from rlbox.agents.tfagents.base import activation_fn

    c = agent.config
    observation_spec = agent.time_step_spec.observation
    activation = activation_fn(c.activation)
    actor = actor_distribution_network.ActorDistributionNetwork(
        observation_spec, agent.action_spec, fc_layer_params=c.fc_layer_params,
        activation_fn=activation, discrete_projection_net=CategoricalHead,
    )  # fmt: skip
    if not with_value:
        return actor, None
    value = value_network.ValueNetwork(
        observation_spec, fc_layer_params=c.fc_layer_params, activation_fn=activation
    )
    return actor, value
