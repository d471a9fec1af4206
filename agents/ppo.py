"""Proximal Policy Optimization (Schulman et al., 2017, "Proximal Policy Optimization
Algorithms", Algorithm 1, clipped surrogate of eq. 7), with the details of the reference
implementation (Huang et al., 2022, "The 37 Implementation Details of PPO").

    repeat:
        run the policy for n_steps in each of N envs; GAE advantages   (collect_rollout)
        for n_epochs, for each minibatch:
            r = pi(a|s) / pi_old(a|s)
            L = -min(r A, clip(r, 1 - eps, 1 + eps) A) + c_v L_V - c_e H[pi]
            one gradient step (norm clipped)
        stop the epochs early if the approximate KL exceeds target_kl
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from rlbox.agents.common.onpolicy import ActorCriticAgent, ActorCriticConfig
from rlbox.agents.common.rollout import Rollout, RolloutBuffer, StepLayout
from rlbox.agents.common.schedules import decay
from rlbox.config.fields import check, param


@dataclass(frozen=True)
class PPOConfig(ActorCriticConfig):
    n_steps: int = param(128, "Steps per env copy in each rollout.")
    gae_lambda: float = param(0.95, "GAE lambda: 0 is one-step TD, 1 is Monte Carlo.")
    n_epochs: int = param(10, "Passes over each rollout.")
    batch_size: int = param(64, "Minibatch size (transitions).")
    clip_range: float = param(0.2, "Clip the probability ratio to [1 - c, 1 + c].")
    clip_range_schedule: Literal["constant", "linear"] = param(
        "constant", "'linear' decays clip_range to 0 over the schedule horizon."
    )
    clip_range_vf: float = param(0.0, "Clip value updates to this distance (0: no clipping).")
    normalize_advantage: bool = param(True, "Normalise advantages per minibatch.")
    target_kl: float = param(0.0, "Stop the epochs when the approximate KL exceeds this (0: off).")

    def __post_init__(self) -> None:
        super().__post_init__()
        check(self.n_steps >= 1, "n_steps", f"must be >= 1, got {self.n_steps}")
        check(0.0 <= self.gae_lambda <= 1.0, "gae_lambda", "must be in [0, 1]")
        check(self.n_epochs >= 1, "n_epochs", f"must be >= 1, got {self.n_epochs}")
        check(self.batch_size >= 1, "batch_size", f"must be >= 1, got {self.batch_size}")
        check(self.clip_range > 0, "clip_range", f"must be positive, got {self.clip_range}")
        check(self.clip_range_vf >= 0, "clip_range_vf", "must be >= 0")
        check(self.target_kl >= 0, "target_kl", "must be >= 0")


def ppo_policy_loss(logprob: Tensor, old_logprob: Tensor, advantage: Tensor, clip: float) -> Tensor:
    """The clipped surrogate objective, negated to be minimised (eq. 7)."""
    ratio = torch.exp(logprob - old_logprob)
    clipped = torch.clamp(ratio, 1.0 - clip, 1.0 + clip)
    return -torch.min(ratio * advantage, clipped * advantage).mean()


def ppo_value_loss(value: Tensor, old_value: Tensor, returns: Tensor, clip: float) -> Tensor:
    """(V - R)^2, or its pessimistic clipped version when clip > 0.

    The plain squared error, as SB3's (and the RL Zoo's) PPO: so `vf_coef` means what it means
    there. (The paper's eq. 9 and CleanRL scale it by 0.5.)
    """
    loss = (value - returns).square()
    if clip > 0:
        clipped = old_value + torch.clamp(value - old_value, -clip, clip)
        loss = torch.max(loss, (clipped - returns).square())
    return loss.mean()


class PPO(ActorCriticAgent):
    """PPO with the clipped surrogate; Discrete, MultiDiscrete and Box actions."""

    config_class = PPOConfig

    def make_buffer(self, layout: StepLayout) -> RolloutBuffer:
        """Algorithm 1's rollouts: T = n_steps of each env copy, advantages GAE(gamma, lambda)."""
        c: PPOConfig = self.config
        return RolloutBuffer(c.n_steps, layout, gamma=c.gamma, gae_lambda=c.gae_lambda)

    def train_on(self, rollout: Rollout) -> dict[str, Tensor | float]:
        c: PPOConfig = self.config
        clip = decay(c.clip_range_schedule, c.clip_range, self.horizon)(self.env_steps)
        n = rollout.advantage.shape[0]
        totals = torch.zeros(5, device=self.device)  # pg, value, entropy, approx KL, clipped
        steps = 0
        for _ in range(c.n_epochs):
            for batch in self.minibatches(rollout, n):
                dist, value = self.net(self.augment(batch.obs))
                logprob = dist.log_prob(batch.action)
                advantage = batch.advantage
                if c.normalize_advantage and advantage.numel() > 1:
                    advantage = (advantage - advantage.mean()) / (advantage.std() + 1e-8)
                pg_loss = ppo_policy_loss(logprob, batch.logprob, advantage, clip)
                v_loss = ppo_value_loss(value, batch.value, batch.returns, c.clip_range_vf)
                entropy = dist.entropy().mean()
                self.gradient_step(pg_loss + c.vf_coef * v_loss - c.ent_coef * entropy)
                with torch.no_grad():
                    log_ratio = logprob - batch.logprob
                    ratio = log_ratio.exp()
                    approx_kl = ((ratio - 1) - log_ratio).mean()  # Schulman's k3 estimator
                    clipped = ((ratio - 1.0).abs() > clip).float().mean()
                    totals += torch.stack([pg_loss, v_loss, entropy, approx_kl, clipped])
                steps += 1
            if c.target_kl and approx_kl > c.target_kl:
                break
        means = totals / steps
        names = ("pg_loss", "v_loss", "entropy", "approx_kl", "clip_fraction")
        metrics: dict[str, Tensor | float] = dict(zip(names, means, strict=True))
        metrics["explained_variance"] = explained_variance(rollout.value, rollout.returns)
        metrics["clip_range"] = clip
        return metrics

    def minibatches(self, rollout: Rollout, n: int) -> Iterator[Rollout]:
        """Shuffled minibatches of the rollout; the whole rollout when it fits in one."""
        if self.config.batch_size >= n:
            yield rollout
            return
        order = torch.randperm(n, generator=self.rng.device, device=self.device)
        for index in order.split(self.config.batch_size):
            yield rollout.select(index)


def explained_variance(predicted: Tensor, target: Tensor) -> Tensor:
    """1 - Var[target - predicted] / Var[target]: 1 is a perfect value function, 0 a constant."""
    var = target.var()
    return torch.where(var > 0, 1 - (target - predicted).var() / var, torch.zeros_like(var))
