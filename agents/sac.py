"""Soft Actor-Critic (Haarnoja et al., 2018, "Soft Actor-Critic Algorithms and Applications",
Algorithm 1, with the automatic entropy tuning of section 5).

    for each vector step:
        a ~ pi(.|s) (uniform before learning_starts); store (s, a, r, s', done)
        every train_freq steps, gradient_steps x, on a sampled batch:
            a' ~ pi(.|s')
            y = r + gamma (1 - terminated) (min_i Q'_i(s', a') - alpha log pi(a'|s'))
            minimise 1/2 sum_i (Q_i(s, a) - y)^2                          (eq. 5)
            a~ ~ pi(.|s): minimise alpha log pi(a~|s) - min_i Q_i(s, a~)   (eq. 7, reparameterised)
            minimise -log alpha (log pi(a~|s) + target_entropy)             (eq. 18)
            Q'_i <- (1 - tau) Q'_i + tau Q_i
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
from gymnasium import spaces
from torch import Tensor, nn

from rlbox.agents.common.gradient import gradient_step
from rlbox.agents.common.offpolicy import OffPolicyActorCritic, OffPolicyConfig
from rlbox.agents.common.replay import Batch
from rlbox.config.fields import check, param
from rlbox.nn.backbone import BackboneSpec
from rlbox.nn.heads import SquashedGaussianActor, soft_update


@dataclass(frozen=True)
class SACConfig(OffPolicyConfig):
    ent_coef: float = param(
        1.0, "Entropy coefficient alpha: its start when learn_ent_coef, else its fixed value."
    )
    learn_ent_coef: bool = param(True, "Learn alpha toward the target entropy (section 5).")
    target_entropy: float = param(
        -1.0, "Target entropy per action dimension: the target is this x dim(A) (paper: -1)."
    )
    use_sde: bool = param(
        False, "Explore with gSDE: noise linear in the policy's features, held for steps."
    )
    sde_sample_freq: int = param(
        -1, "gSDE: new noise every this many vector steps (-1: once per train_freq round)."
    )
    log_std_init: float = param(-3.0, "gSDE: initial log-std of the noise weights.")

    def __post_init__(self) -> None:
        super().__post_init__()
        check(self.ent_coef > 0, "ent_coef", f"must be positive, got {self.ent_coef}")
        check(
            self.sde_sample_freq == -1 or self.sde_sample_freq >= 1,
            "sde_sample_freq",
            f"must be -1 or >= 1, got {self.sde_sample_freq}",
        )


class Temperature(nn.Module):
    """alpha, held as its logarithm so that gradient steps keep it positive."""

    def __init__(self, initial: float) -> None:
        super().__init__()
        self.log_alpha = nn.Parameter(torch.tensor(math.log(initial)))

    def forward(self) -> Tensor:
        return self.log_alpha.exp()


class SAC(OffPolicyActorCritic):
    """SAC on a vector env with a bounded Box action space."""

    config_class = SACConfig

    def make_actor(self, backbone: nn.Module, amp: torch.dtype | None) -> nn.Module:
        c: SACConfig = self.config
        sde = c.log_std_init if c.use_sde else None
        return SquashedGaussianActor(backbone, self.action_dim, c.net_arch, amp, sde)

    def build(self, backbone: BackboneSpec, obs_space: spaces.Space, seed: int) -> None:
        super().build(backbone, obs_space, seed)
        c: SACConfig = self.config
        self.temperature = Temperature(c.ent_coef).to(self.device)
        self.networks["temperature"] = self.temperature
        self.target_entropy = c.target_entropy * self.action_dim
        if c.learn_ent_coef:  # the actor's optimizer steps alpha too: see train_step
            self.actor_params.append(self.temperature.log_alpha)
            self.optimizers["actor"].add_param_group({"params": [self.temperature.log_alpha]})
        else:
            self.temperature.requires_grad_(False)
        # gSDE: the exploration noise matrices, one per env copy, and their age in vector steps
        self.sde_draw: Tensor | None = None
        self.sde_age = 0

    def explore_action(self, obs: Tensor) -> Tensor:
        if not self.config.use_sde:
            return self.actor(obs, generator=self.generator)[0]
        if self.sde_draw is None or self.sde_age == self.config.sde_sample_freq:
            self.sde_draw = self.actor.sde_draw(self.generator, copies=obs.shape[0])
            self.sde_age = 0
        self.sde_age += 1
        return self.actor(obs, draw=self.sde_draw)[0]

    def update(self, env_steps: int) -> dict[str, Tensor | float] | None:
        metrics = super().update(env_steps)
        if metrics is not None and self.config.sde_sample_freq == -1:
            self.sde_draw = None  # new exploration noise for the next round, as SB3 does
        return metrics

    def policy_action(self, obs: Tensor) -> Tensor:
        return self.actor(obs, deterministic=True)[0]

    def train_step(self, batch: Batch) -> dict[str, Tensor]:
        c: SACConfig = self.config
        alpha = self.temperature().detach()
        # gSDE: one noise matrix for this step's samples (SB3's); None: independent noise
        draw = self.actor.sde_draw(self.generator) if c.use_sde else None

        with torch.no_grad():
            next_action, next_log_prob = self.actor(
                batch.next_obs, generator=self.generator, draw=draw
            )
            next_q = self.critic_target(batch.next_obs, next_action).min(dim=0).values
            target = batch.reward + batch.discount * (next_q - alpha * next_log_prob)
        q = self.critic(batch.obs, batch.action)
        critic_loss = 0.5 * (q - target).square().mean(dim=1).sum()
        gradient_step(critic_loss, self.optimizers["critic"], self.critic_params, c.max_grad_norm)

        action, log_prob = self.actor(batch.obs, generator=self.generator, draw=draw)
        q_pi = self.critic(batch.obs, action).min(dim=0).values
        actor_loss = (alpha * log_prob - q_pi).mean()
        # alpha's loss reaches only log alpha, the actor's only the actor (alpha enters it
        # detached): one backward pass and one Adam step over both take both gradient steps
        loss = actor_loss
        if c.learn_ent_coef:
            log_alpha = self.temperature.log_alpha
            loss = loss - (log_alpha * (log_prob.detach() + self.target_entropy)).mean()
        gradient_step(loss, self.optimizers["actor"], self.actor_params, c.max_grad_norm)

        soft_update(self.critic_target, self.critic, c.tau)
        return {
            "critic_loss": critic_loss.detach(),
            "actor_loss": actor_loss.detach(),
            "ent_coef": alpha,
            "entropy": -log_prob.detach().mean(),
            "q_mean": q.detach().mean(),
        }

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["sde"] = {"age": self.sde_age}
        if self.sde_draw is not None:
            state["sde"]["draw"] = self.sde_draw
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.sde_age = int(state["sde"]["age"])
        draw = state["sde"].get("draw")
        self.sde_draw = None if draw is None else draw.to(self.device)
