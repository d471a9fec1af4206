"""The multi-layer perceptron: the backbone for vector observations."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal

import torch
import torch.nn.functional as F
from gymnasium import spaces
from torch import Tensor, nn

from rlbox.errors import ConfigError

ACTIVATIONS: dict[str, type[nn.Module]] = {"tanh": nn.Tanh, "relu": nn.ReLU}
_FUNCTIONAL = {nn.Tanh: torch.tanh, nn.ReLU: torch.relu}


@dataclass(frozen=True)
class MLPOptions:
    hidden_sizes: tuple[int, ...] = field(
        default=(64, 64), metadata={"help": "Hidden layer sizes; the last is the feature size."}
    )
    activation: Literal["tanh", "relu"] = field(
        default="tanh", metadata={"help": "Activation after each hidden layer."}
    )

    def __post_init__(self) -> None:
        if not self.hidden_sizes or not all(h > 0 for h in self.hidden_sizes):
            raise ConfigError(
                f"invalid value for 'hidden_sizes': needs at least one layer, all sizes positive, "
                f"got {list(self.hidden_sizes)}"
            )


class MLP(nn.Module):
    """Flatten, then Linear + activation for each hidden size.

    `forward` applies the layers' weights directly instead of calling each submodule: with the
    small batches of acting (a few env copies), module-call overhead was a third of its time.
    """

    Options = MLPOptions
    reads = "vectors (Box; other shapes flattened)"

    @staticmethod
    def refuses(observation_space: spaces.Space) -> str | None:
        if not isinstance(observation_space, spaces.Box):
            return "it reads Box observations (vectors, or anything it may flatten)"
        return None

    def __init__(self, observation_space: spaces.Space, options: MLPOptions) -> None:
        super().__init__()
        activation = ACTIVATIONS[options.activation]
        layers: list[nn.Module] = [nn.Flatten()]
        in_dim = math.prod(observation_space.shape)
        for size in options.hidden_sizes:
            layers += [nn.Linear(in_dim, size), activation()]
            in_dim = size
        self.net = nn.Sequential(*layers)
        self.features_dim = in_dim
        self._activation = _FUNCTIONAL[activation]
        self._linears = [m for m in self.net if isinstance(m, nn.Linear)]  # views, not new modules

    def forward(self, obs: Tensor) -> Tensor:
        x = obs.float().flatten(1)
        for linear in self._linears:
            x = self._activation(F.linear(x, linear.weight, linear.bias))
        return x


@dataclass(frozen=True)
class FlattenOptions:
    pass


class Flatten(nn.Module):
    """The observation itself, flattened to a vector (SB3's FlattenExtractor): the backbone of
    SAC and TD3 on vector observations, whose networks concatenate the action to the
    observation before their first hidden layer (`net_arch`)."""

    Options = FlattenOptions
    reads = MLP.reads

    refuses = staticmethod(MLP.refuses)

    def __init__(self, observation_space: spaces.Space, options: FlattenOptions) -> None:
        super().__init__()
        self.features_dim = math.prod(observation_space.shape)

    def forward(self, obs: Tensor) -> Tensor:
        return obs.float().flatten(1)
