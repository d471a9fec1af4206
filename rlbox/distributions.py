"""Policy heads: features -> an action distribution, one per Gymnasium action space.

Box actions use a diagonal Gaussian with a state-independent log-std (as in Schulman et al.,
2017, section 6.1). The Gaussian sample `u` is what the agent stores and scores; the env gets
`u` clipped to the bounds ("clip") or mapped through tanh onto them ("squash"). The mapping does
not depend on the policy's parameters, so probability ratios and gradients of log pi(u) are
unchanged by it.
"""

from __future__ import annotations

import math

import torch
from gymnasium import spaces
from torch import Tensor, nn
from torch.distributions import Categorical, Distribution, Independent, Normal

from rlbox.errors import RlboxError


class MultiCategorical(Distribution):
    """Independent categoricals, one per MultiDiscrete dimension; actions are [..., dims]."""

    arg_constraints = {}  # noqa: RUF012

    def __init__(self, logits: list[Tensor]) -> None:
        self.parts = [Categorical(logits=lg, validate_args=False) for lg in logits]
        super().__init__(batch_shape=logits[0].shape[:-1], validate_args=False)

    def sample(self, sample_shape: torch.Size = torch.Size()) -> Tensor:  # noqa: B008
        return torch.stack([p.sample(sample_shape) for p in self.parts], dim=-1)

    def log_prob(self, value: Tensor) -> Tensor:
        return sum(p.log_prob(value[..., i]) for i, p in enumerate(self.parts))

    def entropy(self) -> Tensor:
        return sum(p.entropy() for p in self.parts)

    @property
    def mode(self) -> Tensor:
        return torch.stack([p.logits.argmax(-1) for p in self.parts], dim=-1)


class PolicyHead(nn.Module):
    """Maps features to a distribution; `to_env` maps its samples to the env's actions."""

    def forward(self, features: Tensor) -> Distribution:
        raise NotImplementedError

    def to_env(self, action: Tensor) -> Tensor:
        return action

    @staticmethod
    def mode(dist: Distribution) -> Tensor:
        if isinstance(dist, Categorical):
            return dist.logits.argmax(-1)
        return dist.mode


class CategoricalHead(PolicyHead):
    def __init__(self, features_dim: int, n: int) -> None:
        super().__init__()
        self.logits = nn.Linear(features_dim, n)

    def forward(self, features: Tensor) -> Distribution:
        return Categorical(logits=self.logits(features), validate_args=False)


class MultiCategoricalHead(PolicyHead):
    def __init__(self, features_dim: int, nvec: list[int]) -> None:
        super().__init__()
        self.nvec = list(nvec)
        self.logits = nn.Linear(features_dim, sum(self.nvec))

    def forward(self, features: Tensor) -> Distribution:
        return MultiCategorical(list(self.logits(features).split(self.nvec, dim=-1)))


class GaussianHead(PolicyHead):
    def __init__(
        self, features_dim: int, space: spaces.Box, log_std_init: float, bounds: str
    ) -> None:
        super().__init__()
        dim = math.prod(space.shape)
        self.shape = space.shape
        self.mean = nn.Linear(features_dim, dim)
        self.log_std = nn.Parameter(torch.full((dim,), float(log_std_init)))
        self.bounds = bounds
        self.register_buffer("low", torch.as_tensor(space.low, dtype=torch.float32).flatten())
        self.register_buffer("high", torch.as_tensor(space.high, dtype=torch.float32).flatten())

    def forward(self, features: Tensor) -> Distribution:
        mean = self.mean(features)
        std = self.log_std.exp().expand_as(mean)
        return Independent(Normal(mean, std, validate_args=False), 1, validate_args=False)

    def to_env(self, action: Tensor) -> Tensor:
        if self.bounds == "squash":
            action = self.low + (torch.tanh(action) + 1.0) * 0.5 * (self.high - self.low)
        else:
            action = torch.maximum(torch.minimum(action, self.high), self.low)
        return action.reshape(*action.shape[:-1], *self.shape)


def flat_action_shape(space: spaces.Space) -> tuple[int, ...]:
    """Shape of one stored action: () for Discrete, (dims,) for MultiDiscrete and Box."""
    if isinstance(space, spaces.Discrete):
        return ()
    if isinstance(space, spaces.MultiDiscrete):
        return (int(space.nvec.size),)
    return (math.prod(space.shape),)


def make_policy_head(
    space: spaces.Space, features_dim: int, *, log_std_init: float = 0.0, bounds: str = "clip"
) -> PolicyHead:
    if isinstance(space, spaces.Discrete):
        return CategoricalHead(features_dim, int(space.n))
    if isinstance(space, spaces.MultiDiscrete):
        return MultiCategoricalHead(features_dim, [int(n) for n in space.nvec.flatten()])
    if isinstance(space, spaces.Box):
        if not (torch.isfinite(torch.as_tensor(space.low)).all() or bounds == "clip"):
            raise RlboxError("action_bounds=squash needs finite action bounds")
        return GaussianHead(features_dim, space, log_std_init, bounds)
    raise RlboxError(f"no policy head for action space {space}")
