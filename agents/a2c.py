"""Advantage Actor-Critic (Mnih et al., 2016, "Asynchronous Methods for Deep RL", the
synchronous variant), with GAE (Schulman et al., 2016) for the advantages.

    repeat:
        run the policy for n_steps in each of N envs; GAE advantages   (collect_rollout)
        L = -log pi(a|s) A + c_v (R - V(s))^2 - c_e H[pi]     one gradient step on the batch
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from torch import Tensor

from rlbox.agents.common.onpolicy import ActorCriticAgent, ActorCriticConfig
from rlbox.agents.common.rollout import Rollout, RolloutBuffer, StepLayout
from rlbox.config.fields import check, param


@dataclass(frozen=True)
class A2CConfig(ActorCriticConfig):
    lr: float = param(7e-4, "Learning rate.")
    optimizer: Literal["adam", "rmsprop"] = param("rmsprop", "Optimizer (the paper's: rmsprop).")
    n_steps: int = param(5, "Steps per env copy in each rollout (the n of n-step returns).")
    gae_lambda: float = param(1.0, "GAE lambda: 1 gives the paper's n-step returns.")
    normalize_advantage: bool = param(False, "Normalise advantages per rollout.")

    def __post_init__(self) -> None:
        super().__post_init__()
        check(self.n_steps >= 1, "n_steps", f"must be >= 1, got {self.n_steps}")
        check(0.0 <= self.gae_lambda <= 1.0, "gae_lambda", "must be in [0, 1]")


def a2c_loss(
    logprob: Tensor, advantage: Tensor, value: Tensor, returns: Tensor
) -> tuple[Tensor, Tensor]:
    """(policy-gradient loss, value loss) for one batch; the advantage is a constant."""
    return -(logprob * advantage.detach()).mean(), (returns - value).square().mean()


class A2C(ActorCriticAgent):
    """A2C: one gradient step per rollout of n_steps x num_envs transitions."""

    config_class = A2CConfig

    def make_buffer(self, layout: StepLayout) -> RolloutBuffer:
        """Rollouts of n_steps per env copy: with lambda = 1, the paper's n-step returns."""
        c: A2CConfig = self.config
        return RolloutBuffer(c.n_steps, layout, gamma=c.gamma, gae_lambda=c.gae_lambda)

    def train_on(self, rollout: Rollout) -> dict[str, Tensor | float]:
        c: A2CConfig = self.config
        dist, value = self.net(self.augment(rollout.obs))
        advantage = rollout.advantage
        if c.normalize_advantage and advantage.numel() > 1:
            advantage = (advantage - advantage.mean()) / (advantage.std() + 1e-8)
        pg_loss, v_loss = a2c_loss(dist.log_prob(rollout.action), advantage, value, rollout.returns)
        entropy = dist.entropy().mean()
        self.gradient_step(pg_loss + c.vf_coef * v_loss - c.ent_coef * entropy)
        return {"pg_loss": pg_loss.detach(), "v_loss": v_loss.detach(), "entropy": entropy.detach()}
