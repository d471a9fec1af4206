"""Policy heads: features -> an action distribution, one per Gymnasium action space.

Box actions use a diagonal Gaussian with a state-independent log-std (as in Schulman et al.,
2017, section 6.1), or, with gSDE, one whose noise is a function of the state (Raffin et al.,
2022). The Gaussian sample `u` is what the agent stores and scores; the env gets `u` clipped to
the bounds ("clip") or mapped through tanh onto them ("squash"). The mapping does not depend on
the policy's parameters, so probability ratios and gradients of log pi(u) are unchanged by it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

import torch
from gymnasium import spaces
from torch import Tensor, nn

from rlbox.errors import RlboxError


class Categorical:
    """A categorical over the last dimension of `logits`.

    Hand-written rather than torch.distributions.Categorical: the rollout builds one per
    env step, and this one costs one log_softmax instead of argument checks and a logsumexp.
    """

    def __init__(self, logits: Tensor) -> None:
        self.log_probs = logits.log_softmax(-1)

    def sample(self, generator: torch.Generator | None = None) -> Tensor:
        return torch.multinomial(self.log_probs.exp(), 1, generator=generator).squeeze(-1)

    def log_prob(self, action: Tensor) -> Tensor:
        return self.log_probs.gather(-1, action.unsqueeze(-1)).squeeze(-1)

    def entropy(self) -> Tensor:
        return -(self.log_probs.exp() * self.log_probs).sum(-1)

    @property
    def probs(self) -> Tensor:
        return self.log_probs.exp()

    @property
    def mode(self) -> Tensor:
        return self.log_probs.argmax(-1)


class MultiCategorical:
    """Independent categoricals, one per MultiDiscrete dimension; actions are [..., dims]."""

    def __init__(self, logits: list[Tensor]) -> None:
        self.parts = [Categorical(lg) for lg in logits]

    def sample(self, generator: torch.Generator | None = None) -> Tensor:
        return torch.stack([p.sample(generator) for p in self.parts], dim=-1)

    def log_prob(self, action: Tensor) -> Tensor:
        return sum(p.log_prob(action[..., i]) for i, p in enumerate(self.parts))

    def entropy(self) -> Tensor:
        return sum(p.entropy() for p in self.parts)

    @property
    def mode(self) -> Tensor:
        return torch.stack([p.mode for p in self.parts], dim=-1)


class DiagGaussian:
    """A Gaussian with diagonal covariance over the last dimension.

    `noise`, when given, replaces the independent standard-normal draw of `sample`: gSDE passes
    noise that stays fixed for several steps (it must have this distribution's std).
    """

    def __init__(
        self,
        mean: Tensor,
        log_std: Tensor,
        noise: Callable[[torch.Generator | None], Tensor] | None = None,
    ) -> None:
        self.mean = mean
        self.log_std = log_std.expand_as(mean)
        self.noise = noise

    def sample(self, generator: torch.Generator | None = None) -> Tensor:
        if self.noise is not None:
            return self.mean + self.noise(generator)
        draw = torch.randn(
            self.mean.shape, generator=generator, device=self.mean.device, dtype=self.mean.dtype
        )
        return self.mean + self.log_std.exp() * draw

    def log_prob(self, action: Tensor) -> Tensor:
        z = (action - self.mean) * torch.exp(-self.log_std)
        return (-0.5 * z.square() - self.log_std - 0.5 * math.log(2 * math.pi)).sum(-1)

    def entropy(self) -> Tensor:
        return (self.log_std + 0.5 * (1.0 + math.log(2 * math.pi))).sum(-1)

    @property
    def mode(self) -> Tensor:
        return self.mean


Distribution = Categorical | MultiCategorical | DiagGaussian


class PolicyHead(nn.Module):
    """Maps features to a distribution; `to_env` maps its samples to the env's actions."""

    def forward(self, features: Tensor) -> Distribution:
        raise NotImplementedError

    def to_env(self, action: Tensor) -> Tensor:
        return action


class CategoricalHead(PolicyHead):
    def __init__(self, features_dim: int, n: int) -> None:
        super().__init__()
        self.logits = nn.Linear(features_dim, n)

    def forward(self, features: Tensor) -> Distribution:
        return Categorical(self.logits(features))


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
        return DiagGaussian(self.mean(features), self.log_std)

    def to_env(self, action: Tensor) -> Tensor:
        if self.bounds == "squash":
            action = self.low + (torch.tanh(action) + 1.0) * 0.5 * (self.high - self.low)
        else:
            action = torch.maximum(torch.minimum(action, self.high), self.low)
        return action.reshape(*action.shape[:-1], *self.shape)


class StateDependentNoiseHead(GaussianHead):
    """Generalized state-dependent exploration, gSDE (Raffin et al., 2022, "Smooth Exploration
    for Robotic Reinforcement Learning").

    The exploration noise is a linear function of the policy's features z(s), with weights
    drawn from N(0, sigma^2) and held for several steps: eps = z(s) theta. So for a fixed theta
    the action is a deterministic, smooth function of the state, and the policy explores with
    consistent perturbations instead of white noise that Pendulum's dynamics average away.
    Given s, eps is Gaussian with variance sum_j z_j^2 sigma_ja^2; that is the distribution
    scored. Features enter detached: sigma is learned, the features only by the mean's loss.
    """

    def __init__(
        self, features_dim: int, space: spaces.Box, log_std_init: float, bounds: str
    ) -> None:
        super().__init__(features_dim, space, log_std_init, bounds)
        dim = self.mean.out_features
        self.log_std = nn.Parameter(torch.full((features_dim, dim), float(log_std_init)))
        # one weight matrix per env copy, [copies, features, actions]; not saved in checkpoints
        self.register_buffer("weights", torch.zeros(0, features_dim, dim), persistent=False)

    def reset_noise(self, copies: int, generator: torch.Generator | None = None) -> None:
        """Draw new exploration weights, one matrix per env copy."""
        std = self.log_std.detach().exp()
        draw = torch.randn(copies, *std.shape, generator=generator, device=std.device)
        self.weights = std * draw

    def forward(self, features: Tensor) -> Distribution:
        latent = features.detach()
        variance = latent.square() @ (2.0 * self.log_std).exp()
        log_std = variance.add_(1e-6).log_().mul_(0.5)
        noise = partial(self._noise, latent)
        return DiagGaussian(self.mean(features), log_std, noise=noise)

    def _noise(self, latent: Tensor, generator: torch.Generator | None) -> Tensor:
        if self.weights.shape[0] != latent.shape[0]:
            self.reset_noise(latent.shape[0], generator)
        return torch.einsum("bf,bfa->ba", latent, self.weights)


def flat_action_shape(space: spaces.Space) -> tuple[int, ...]:
    """Shape of one stored action: () for Discrete, (dims,) for MultiDiscrete and Box."""
    if isinstance(space, spaces.Discrete):
        return ()
    if isinstance(space, spaces.MultiDiscrete):
        return (int(space.nvec.size),)
    return (math.prod(space.shape),)


def make_policy_head(
    space: spaces.Space,
    features_dim: int,
    *,
    log_std_init: float = 0.0,
    bounds: str = "clip",
    sde: bool = False,
) -> PolicyHead:
    if isinstance(space, spaces.Discrete):
        return CategoricalHead(features_dim, int(space.n))
    if isinstance(space, spaces.MultiDiscrete):
        return MultiCategoricalHead(features_dim, [int(n) for n in space.nvec.flatten()])
    if isinstance(space, spaces.Box):
        if bounds == "squash" and not space.is_bounded("both"):
            raise RlboxError("action_bounds=squash needs finite action bounds")
        head = StateDependentNoiseHead if sde else GaussianHead
        return head(features_dim, space, log_std_init, bounds)
    raise RlboxError(f"no policy head for action space {space}")
