"""Twin Delayed DDPG (Fujimoto et al., 2018, "Addressing Function Approximation Error in
Actor-Critic Methods", Algorithm 1).

    for each vector step:
        a = clip(mu(s) + noise, -1, 1) (uniform before learning_starts); store (s, a, r, s', done)
        every train_freq steps, gradient_steps x, on a sampled batch:
            a' = clip(mu'(s') + clip(N(0, target_policy_noise), -c, c), -1, 1)  (smoothing)
            y = r + gamma (1 - terminated) min_i Q'_i(s', a')                   (clipped double Q)
            minimise sum_i (Q_i(s, a) - y)^2
            every policy_delay-th step:                                         (delayed updates)
                minimise -Q_1(s, mu(s))
                Q'_i <- (1 - tau) Q'_i + tau Q_i;  mu' <- (1 - tau) mu' + tau mu

Actions are in [-1, 1]^d inside the agent, so the noises are in units of half the action range:
a noise of 0.1 is 10% of the distance from the middle of the bounds to either end.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Literal

import torch
from gymnasium import spaces
from torch import Tensor, nn

from rlbox.agents.common.gradient import gradient_step
from rlbox.agents.common.offpolicy import OffPolicyActorCritic, OffPolicyConfig
from rlbox.agents.common.replay import Batch
from rlbox.config.fields import check, param
from rlbox.envs.base import Step
from rlbox.nn.backbone import BackboneSpec
from rlbox.nn.heads import DeterministicActor, soft_update


@dataclass(frozen=True)
class TD3Config(OffPolicyConfig):
    lr: float = param(1e-3, "Adam learning rate of every network.")
    net_arch: tuple[int, ...] = param(
        (400, 300), "Hidden sizes of the actor's and each critic's MLP, on the backbone."
    )
    policy_delay: int = param(2, "Critic updates per actor and target update.")
    target_policy_noise: float = param(0.2, "Std of the target policy smoothing noise.")
    target_noise_clip: float = param(0.5, "Clip the smoothing noise to [-c, c].")
    action_noise: Literal["normal", "ou"] = param(
        "normal",
        "Exploration noise: independent Gaussian, or Ornstein-Uhlenbeck (correlated in time).",
    )
    action_noise_std: float = param(0.1, "Std of the exploration noise.")

    def __post_init__(self) -> None:
        super().__post_init__()
        check(self.policy_delay >= 1, "policy_delay", f"must be >= 1, got {self.policy_delay}")
        for key in ("target_policy_noise", "target_noise_clip", "action_noise_std"):
            check(getattr(self, key) >= 0, key, f"must be >= 0, got {getattr(self, key)}")


class OrnsteinUhlenbeck:
    """Noise that reverts to 0 and is correlated in time, one process per env copy (Uhlenbeck
    and Ornstein, 1930; used by DDPG): x += theta (0 - x) dt + sigma sqrt(dt) N(0, 1), with
    SB3's theta 0.15 and dt 0.01; a copy's process restarts at 0 when its episode ends."""

    THETA, DT = 0.15, 1e-2

    def __init__(self, sigma: float) -> None:
        self.sigma = sigma
        self.x: Tensor | None = None

    def __call__(
        self, shape: tuple[int, ...], generator: torch.Generator, device: torch.device
    ) -> Tensor:
        if self.x is None:
            self.x = torch.zeros(shape, device=device)
        draw = torch.randn(shape, generator=generator, device=device)
        self.x = self.x - self.THETA * self.x * self.DT + self.sigma * self.DT**0.5 * draw
        return self.x

    def restart(self, done: Tensor) -> None:
        if self.x is not None:
            self.x = self.x * (~done.to(self.x.device)).unsqueeze(-1)


class TD3(OffPolicyActorCritic):
    """TD3 on a vector env with a bounded Box action space."""

    config_class = TD3Config

    def make_actor(self, backbone: nn.Module, amp: torch.dtype | None) -> nn.Module:
        return DeterministicActor(backbone, self.action_dim, self.config.net_arch, amp)

    def build(self, backbone: BackboneSpec, obs_space: spaces.Space, seed: int) -> None:
        super().build(backbone, obs_space, seed)
        c: TD3Config = self.config
        self.actor_target = copy.deepcopy(self.actor).requires_grad_(False)
        self.networks["actor_target"] = self.actor_target
        self.ou = OrnsteinUhlenbeck(c.action_noise_std) if c.action_noise == "ou" else None
        self.actor_updates = 0

    def explore_action(self, obs: Tensor) -> Tensor:
        action = self.actor(obs)
        if self.ou is not None:
            noise = self.ou(action.shape, self.generator, self.device)
        else:
            noise = self.config.action_noise_std * torch.randn(
                action.shape, generator=self.generator, device=self.device
            )
        return (action + noise).clamp_(-1.0, 1.0)

    def observe(self, obs: Tensor, action: Tensor, step: Step) -> None:
        super().observe(obs, action, step)
        if self.ou is not None:
            self.ou.restart(step.done)

    def policy_action(self, obs: Tensor) -> Tensor:
        return self.actor(obs)

    def train_step(self, batch: Batch) -> dict[str, Tensor]:
        c: TD3Config = self.config
        with torch.no_grad():
            noise = c.target_policy_noise * torch.randn(
                batch.action.shape, generator=self.generator, device=self.device
            )
            noise = noise.clamp_(-c.target_noise_clip, c.target_noise_clip)
            next_action = (self.actor_target(batch.next_obs) + noise).clamp_(-1.0, 1.0)
            next_q = self.critic_target(batch.next_obs, next_action).min(dim=0).values
            target = batch.reward + batch.discount * next_q
        q = self.critic(batch.obs, batch.action)
        critic_loss = (q - target).square().mean(dim=1).sum()
        gradient_step(critic_loss, self.optimizers["critic"], self.critic_params, c.max_grad_norm)
        metrics = {"critic_loss": critic_loss.detach(), "q_mean": q.detach().mean()}

        if self.gradient_steps % c.policy_delay == 0:
            actor_loss = -self.critic(batch.obs, self.actor(batch.obs), members=1)[0].mean()
            gradient_step(actor_loss, self.optimizers["actor"], self.actor_params, c.max_grad_norm)
            soft_update(self.critic_target, self.critic, c.tau)
            soft_update(self.actor_target, self.actor, c.tau)
            self.actor_updates += 1
        return metrics

    def state_dict(self) -> dict[str, Any]:
        state = super().state_dict()
        state["counters"]["actor_updates"] = self.actor_updates
        state["ou"] = {} if self.ou is None or self.ou.x is None else {"x": self.ou.x}
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        super().load_state_dict(state)
        self.actor_updates = int(state["counters"]["actor_updates"])
        if self.ou is not None and "x" in state["ou"]:
            self.ou.x = state["ou"]["x"].to(self.device)
