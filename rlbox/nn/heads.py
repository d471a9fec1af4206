"""The heads agents put on a backbone (`rlbox.nn.make_backbone`): Q-values, a policy with a
value, continuous-control actors and twin critics; and the target-network update.

A backbone maps observations to a flat feature vector of `features_dim`; a head maps features
to what an algorithm needs, so any agent can sit on any backbone.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise

import torch
import torch.nn.functional as F
from gymnasium import spaces
from torch import Tensor, nn

from rlbox.nn.distributions import Distribution
from rlbox.nn.init import orthogonal_


class QHead(nn.Module):
    """Q(s, ·) from features; with `dueling`, Q = V + A - mean(A) (Wang et al., 2016, eq. 9)."""

    def __init__(self, features_dim: int, n_actions: int, dueling: bool = False) -> None:
        super().__init__()
        self.dueling = dueling
        self.advantage = nn.Linear(features_dim, n_actions)
        self.value = nn.Linear(features_dim, 1) if dueling else None

    def forward(self, features: Tensor) -> Tensor:
        advantage = self.advantage(features)
        if self.value is None:
            return advantage
        return self.value(features) + advantage - advantage.mean(dim=-1, keepdim=True)


def encode(body: nn.Module, obs: Tensor, amp: torch.dtype | None) -> Tensor:
    """The features of `obs`: the backbone under autocast to `amp` (None: full precision), its
    output back in float32, so that heads, log-probabilities and losses stay in full precision
    (PPO's ratios and KL estimates in bfloat16 round to zero)."""
    if amp is None:
        return body(obs)
    with torch.autocast(obs.device.type, dtype=amp):
        return body(obs).float()


class QNetwork(nn.Module):
    def __init__(
        self,
        backbone: nn.Module,
        n_actions: int,
        dueling: bool = False,
        amp: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.backbone = backbone
        self.head = QHead(backbone.features_dim, n_actions, dueling)
        self.amp = amp

    def forward(self, obs: Tensor) -> Tensor:
        return self.head(encode(self.backbone, obs, self.amp))


@torch.no_grad()
def soft_update(target: nn.Module, source: nn.Module, tau: float) -> None:
    """target <- (1 - tau) * target + tau * source, for every parameter."""
    target_params = list(target.parameters())
    source_params = list(source.parameters())
    if tau >= 1.0:
        torch._foreach_copy_(target_params, source_params)
    else:
        torch._foreach_lerp_(target_params, source_params, tau)


class ActorCritic(nn.Module):
    """A policy head and a value head on one shared backbone or on two separate ones.

    Orthogonal initialisation with the gains of the PPO reference implementation: sqrt(2) for
    hidden layers (convolutions included), 0.01 for the policy output (near-uniform initial
    policy), 1 for the value.
    """

    def __init__(
        self,
        actor_body: nn.Module,
        critic_body: nn.Module | None,
        head: nn.Module,
        amp: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.amp = amp  # the backbones' autocast dtype (`encode`)
        self.actor_body = actor_body
        self.critic_body = critic_body  # None: the critic shares the actor's backbone
        self.head = head
        self.value_head = nn.Linear(actor_body.features_dim, 1)
        orthogonal_(self, math.sqrt(2))
        for name, module in head.named_modules():
            if isinstance(module, nn.Linear):
                gain = 0.01 if name in ("logits", "mean") else math.sqrt(2)
                nn.init.orthogonal_(module.weight, gain)
        nn.init.orthogonal_(self.value_head.weight, 1.0)

    def forward(self, obs: Tensor) -> tuple[Distribution, Tensor]:
        features = encode(self.actor_body, obs, self.amp)
        critic_features = (
            features if self.critic_body is None else encode(self.critic_body, obs, self.amp)
        )
        return self.head(features), self.value_head(critic_features).squeeze(-1)

    def value(self, obs: Tensor) -> Tensor:
        body = self.actor_body if self.critic_body is None else self.critic_body
        return self.value_head(encode(body, obs, self.amp)).squeeze(-1)

    def backbones(self) -> list[nn.Module]:
        """The actor's backbone, and the critic's when it has its own."""
        return [self.actor_body] + ([] if self.critic_body is None else [self.critic_body])


# --- continuous control: SAC's and TD3's networks ------------------------------------------
# Actions live in [-1, 1]^d inside the agent (its replay, its losses, its exploration noise);
# `ActionScale` maps them onto the env's bounds and back, as SB3 does.


class ActionScale(nn.Module):
    """The affine map between [-1, 1]^d and a bounded Box's [low, high]."""

    def __init__(self, space: spaces.Box) -> None:
        super().__init__()
        low = torch.as_tensor(space.low, dtype=torch.float32).flatten()
        high = torch.as_tensor(space.high, dtype=torch.float32).flatten()
        self.register_buffer("center", (high + low) / 2)
        self.register_buffer("half_range", (high - low) / 2)
        self.shape = space.shape

    def to_env(self, action: Tensor) -> Tensor:
        env_action = self.center + self.half_range * action
        return env_action.reshape(*action.shape[:-1], *self.shape)

    def from_env(self, env_action: Tensor) -> Tensor:
        flat = env_action.reshape(env_action.shape[0], -1).float()
        return ((flat - self.center) / self.half_range).clamp_(-1.0, 1.0)


class EnsembleMLP(nn.Module):
    """`members` MLPs of one shape (ReLU between layers, none after the last), evaluated
    together: one batched matrix product per layer instead of one per member, which is what a
    twin critic costs on a CPU. Each member is initialised as `nn.Linear` is."""

    def __init__(self, members: int, sizes: Sequence[int]) -> None:
        super().__init__()
        self.weights = nn.ParameterList()
        self.biases = nn.ParameterList()
        for fan_in, fan_out in pairwise(sizes):
            bound = 1.0 / math.sqrt(fan_in)
            self.weights.append(nn.Parameter(torch.empty(members, fan_in, fan_out)))
            self.biases.append(nn.Parameter(torch.empty(members, 1, fan_out)))
            nn.init.uniform_(self.weights[-1], -bound, bound)
            nn.init.uniform_(self.biases[-1], -bound, bound)
        self.members = members

    def forward(self, x: Tensor, members: int | None = None) -> Tensor:
        """[batch, in] (the same input for every member) -> [members, batch, out]; the first
        `members` only, when given."""
        k = members or self.members
        x = x.expand(k, *x.shape)
        last = len(self.weights) - 1
        for i, (weight, bias) in enumerate(zip(self.weights, self.biases, strict=True)):
            x = torch.baddbmm(bias[:k], x, weight[:k])
            if i < last:
                x = torch.relu(x)
        return x


def relu_mlp(sizes: Sequence[int]) -> nn.Sequential:
    """Linear + ReLU for each consecutive pair of `sizes` (no layer when there is one size)."""
    layers: list[nn.Module] = []
    for fan_in, fan_out in pairwise(sizes):
        layers += [nn.Linear(fan_in, fan_out), nn.ReLU()]
    return nn.Sequential(*layers)


class TwinQ(nn.Module):
    """Q_1..Q_n(s, a) of a continuous action: the backbone's features of s, the action
    concatenated, then one MLP per member (`hidden` sizes) ending in a scalar. The members share
    the backbone, as SB3's critics do; with the `flatten` backbone this is the papers' critic
    on [s, a]."""

    def __init__(
        self,
        backbone: nn.Module,
        action_dim: int,
        hidden: Sequence[int],
        members: int = 2,
        amp: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.backbone = backbone
        self.q = EnsembleMLP(members, [backbone.features_dim + action_dim, *hidden, 1])
        self.amp = amp

    def forward(self, obs: Tensor, action: Tensor, members: int | None = None) -> Tensor:
        """[members, batch] Q-values (of the first `members` only, when given: TD3's actor
        reads Q_1 alone)."""
        features = encode(self.backbone, obs, self.amp)
        return self.q(torch.cat([features, action], dim=-1), members).squeeze(-1)


class DeterministicActor(nn.Module):
    """mu(s) in [-1, 1]^d: features, ReLU MLP (`hidden`), linear, tanh (TD3, DDPG)."""

    def __init__(
        self,
        backbone: nn.Module,
        action_dim: int,
        hidden: Sequence[int],
        amp: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.backbone = backbone
        sizes = [backbone.features_dim, *hidden]
        self.net = relu_mlp(sizes)
        self.out = nn.Linear(sizes[-1], action_dim)
        self.amp = amp

    def forward(self, obs: Tensor) -> Tensor:
        return torch.tanh(self.out(self.net(encode(self.backbone, obs, self.amp))))


class SquashedGaussianActor(nn.Module):
    """pi(a|s) with a = tanh(u), u ~ N(mu(s), sigma(s)^2) (SAC, Haarnoja et al., 2018,
    appendix C): features, ReLU MLP (`hidden`), then a linear mean and log-std each; the
    log-std clamped to [-20, 2] as in the reference implementation.

    The log-density of a follows from u's by the change of variables:
        log pi(a|s) = log N(u; mu, sigma) - sum_i log(1 - tanh(u_i)^2)
    with log(1 - tanh(u)^2) = 2 (log 2 - u - softplus(-2u)), exact and finite for large |u|.

    With `sde_log_std_init` (gSDE, Raffin et al., 2022, as SB3's SAC has it): the noise is
    u - mu = z(s) W with z the last hidden layer and W ~ N(0, exp(log_std)^2) a matrix held for
    several steps (`draw`, standard normal, scaled here so gradients reach log_std); so
    sigma(s)^2 = z(s)^2 exp(2 log_std), and the mean is clipped to [-2, 2] as in SB3. z is not
    detached (SB3's SAC: `learn_features=True`): the entropy term's gradient reaches the hidden
    layers, which can widen the noise where exploring pays.
    """

    LOG_STD_MIN, LOG_STD_MAX = -20.0, 2.0

    def __init__(
        self,
        backbone: nn.Module,
        action_dim: int,
        hidden: Sequence[int],
        amp: torch.dtype | None = None,
        sde_log_std_init: float | None = None,
    ) -> None:
        super().__init__()
        self.backbone = backbone
        sizes = [backbone.features_dim, *hidden]
        self.net = relu_mlp(sizes)
        self.mean = nn.Linear(sizes[-1], action_dim)
        self.sde = sde_log_std_init is not None
        if self.sde:
            self.log_std = nn.Parameter(torch.full((sizes[-1], action_dim), sde_log_std_init))
        else:
            self.log_std = nn.Linear(sizes[-1], action_dim)
        self.amp = amp

    def forward(
        self,
        obs: Tensor,
        deterministic: bool = False,
        generator: torch.Generator | None = None,
        draw: Tensor | None = None,
    ) -> tuple[Tensor, Tensor]:
        """(a, log pi(a|s)): a sample, reparameterised so gradients flow through mu and sigma;
        `deterministic`: tanh(mu), with the log-density of that point. gSDE: `draw` is the
        held standard-normal noise matrix, [features, d] for the batch or [batch, features, d];
        None draws one for this call."""
        h = self.net(encode(self.backbone, obs, self.amp))
        mean = self.mean(h)
        if self.sde:
            mean = mean.clamp(-2.0, 2.0)
            variance = h.square() @ (2.0 * self.log_std).exp()
            log_std = 0.5 * (variance + 1e-6).log()
        else:
            log_std = self.log_std(h).clamp(self.LOG_STD_MIN, self.LOG_STD_MAX)
        if deterministic:
            u = mean
        elif self.sde:
            if draw is None:
                draw = self.sde_draw(generator)
            weights = self.log_std.exp() * draw
            noise = h @ weights if weights.dim() == 2 else torch.einsum("bf,bfd->bd", h, weights)
            u = mean + noise
        else:
            u = mean + log_std.exp() * torch.randn(
                mean.shape, generator=generator, device=mean.device, dtype=mean.dtype
            )
        return torch.tanh(u), squashed_log_prob(u, mean, log_std)

    def sde_draw(self, generator: torch.Generator | None, copies: int | None = None) -> Tensor:
        """A standard-normal gSDE matrix: one for a batch, or one per env copy."""
        shape = self.log_std.shape if copies is None else (copies, *self.log_std.shape)
        return torch.randn(shape, generator=generator, device=self.log_std.device)


def squashed_log_prob(u: Tensor, mean: Tensor, log_std: Tensor) -> Tensor:
    """log-density of tanh(u) where u ~ N(mean, exp(log_std)^2), summed over the last dim."""
    z = (u - mean) * torch.exp(-log_std)
    gaussian = -0.5 * z.square() - log_std - 0.5 * math.log(2 * math.pi)
    log_det = 2.0 * (math.log(2.0) - u - F.softplus(-2.0 * u))
    return (gaussian - log_det).sum(-1)
