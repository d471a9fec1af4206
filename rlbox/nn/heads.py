"""The heads agents put on a backbone (`rlbox.nn.make_backbone`): Q-values, and a policy with a
value; and the target-network update.

A backbone maps observations to a flat feature vector of `features_dim`; a head maps features
to what an algorithm needs, so any agent can sit on any backbone.
"""

from __future__ import annotations

import math

import torch
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
