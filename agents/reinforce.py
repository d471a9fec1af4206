"""REINFORCE with a learned value baseline (Williams, 1992; Sutton & Barto, 2018, section 13.4).

    repeat:
        run the policy until episodes_per_update episodes have ended   (collect_rollout)
        G_t = sum_k gamma^k r_{t+k} to the end of each episode (Monte Carlo)
        L = -log pi(a_t|s_t) (G_t - V(s_t)) + c_v (G_t - V(s_t))^2 - c_e H[pi]

Only whole episodes are used; steps of episodes still running wait for the next update. A
truncated episode's return continues with V(final observation), since the task did not end.
"""

from __future__ import annotations

from dataclasses import dataclass

from torch import Tensor

from rlbox.agents.common.onpolicy import ActorCriticAgent, ActorCriticConfig
from rlbox.agents.common.rollout import EpisodeBuffer, Rollout, StepLayout
from rlbox.config.fields import check, param


@dataclass(frozen=True)
class ReinforceConfig(ActorCriticConfig):
    lr: float = param(1e-3, "Learning rate.")
    episodes_per_update: int = param(8, "Finished episodes per gradient step.")
    normalize_advantage: bool = param(True, "Normalise G - V per update.")

    def __post_init__(self) -> None:
        super().__post_init__()
        check(self.episodes_per_update >= 1, "episodes_per_update", "must be >= 1")


class Reinforce(ActorCriticAgent):
    """REINFORCE with a value baseline, on whole episodes."""

    config_class = ReinforceConfig

    def make_buffer(self, layout: StepLayout) -> EpisodeBuffer:
        return EpisodeBuffer(layout.device)

    def finish_rollout(self) -> Rollout | None:
        """Every step of the episodes ended so far, once episodes_per_update have; else None."""
        # On an accelerator the count is a question that stalls the stream: ask every 16 steps.
        if not self.syncs_are_free and len(self.buffer) % 16:
            return None
        if self.buffer.episodes < self.config.episodes_per_update:
            return None
        return self.buffer.take(self.config.gamma)

    def train_on(self, rollout: Rollout) -> dict[str, Tensor | float]:
        c: ReinforceConfig = self.config
        dist, value = self.net(self.augment(rollout.obs))
        advantage = rollout.returns - value.detach()
        if c.normalize_advantage and advantage.numel() > 1:
            advantage = (advantage - advantage.mean()) / (advantage.std() + 1e-8)
        pg_loss = -(dist.log_prob(rollout.action) * advantage).mean()
        v_loss = (rollout.returns - value).square().mean()
        entropy = dist.entropy().mean()
        self.gradient_step(pg_loss + c.vf_coef * v_loss - c.ent_coef * entropy)
        return {
            "pg_loss": pg_loss.detach(),
            "v_loss": v_loss.detach(),
            "entropy": entropy.detach(),
            "batch_steps": float(rollout.returns.shape[0]),
        }
