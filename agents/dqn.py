"""Deep Q-Network (Mnih et al., 2015, "Human-level control through deep RL", Algorithm 1).

The classic improvements are config switches, each a few lines below:
double DQN (van Hasselt et al., 2016), dueling heads (Wang et al., 2016), n-step returns
(Sutton, 1988; used in Rainbow, Hessel et al., 2018) and proportional prioritized replay
(Schaul et al., 2016).

    for each vector step:
        a = uniform before learning_starts, else epsilon-greedy(Q(s))   explore()
        store (s, a, r, s', done) as n-step          observe()
        every train_freq steps, gradient_steps x:    update()
            y = R + gamma^m * (1 - terminated) * Q_target(s', argmax Q(s'))   (double)
            minimise Huber(Q(s, a) - y)
        every target_update_interval steps: Q_target <- Q (or Polyak with tau)
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Literal

import torch
import torch.nn.functional as F
from gymnasium import spaces
from torch import Tensor

from rlbox.agents.common.frame_replay import FrameReplayBuffer, PrioritizedFrameReplayBuffer
from rlbox.agents.common.gradient import gradient_step
from rlbox.agents.common.loop import LoopState, run_loop
from rlbox.agents.common.replay import (
    Batch,
    NStepFolder,
    PrioritizedReplayBuffer,
    ReplayBuffer,
    check_buffer_holds_a_step,
    check_replay_config,
)
from rlbox.agents.common.rng import Generators, seeded_init
from rlbox.agents.common.schedules import Linear, decay
from rlbox.config.fields import check, param
from rlbox.envs.base import Step, VectorEnv, observation_dtype
from rlbox.nn.augment import make_augmentation
from rlbox.nn.backbone import BackboneSpec
from rlbox.nn.cnn import is_image
from rlbox.nn.heads import QNetwork, soft_update


@dataclass(frozen=True)
class DQNConfig:
    lr: float = param(1e-3, "Adam learning rate.")
    lr_schedule: Literal["constant", "linear"] = param(
        "constant", "'linear' decays the learning rate to 0 over the schedule horizon."
    )
    batch_size: int = param(64, "Transitions per gradient step.")
    buffer_size: int = param(100_000, "Replay capacity in transitions.")
    learning_starts: int = param(
        1_000, "Environment steps of uniformly random play before learning."
    )
    gamma: float = param(0.99, "Discount factor.")
    train_freq: int = param(
        4, "Env steps, summed over the vector's copies, between two rounds of gradient steps."
    )
    gradient_steps: int = param(1, "Gradient steps per round.")
    target_update_interval: int = param(
        1_000, "Env steps, summed over copies, between target updates."
    )
    tau: float = param(1.0, "Target update coefficient: 1 copies, < 1 is Polyak averaging.")
    exploration_fraction: float = param(
        0.1, "Fraction of the schedule horizon over which epsilon decays."
    )
    exploration_initial_eps: float = param(1.0, "Epsilon at the start.")
    exploration_final_eps: float = param(0.05, "Epsilon after the decay.")
    max_grad_norm: float = param(10.0, "Clip the gradient's global norm to this.")
    loss: Literal["huber", "mse"] = param("huber", "TD loss; Huber is the paper's error clipping.")
    double: bool = param(False, "Double DQN: the online net picks the next action.")
    dueling: bool = param(False, "Dueling head: Q = V + A - mean(A).")
    n_step: int = param(1, "Steps of reward summed before bootstrapping.")
    prioritized: bool = param(False, "Prioritized replay (proportional).")
    per_alpha: float = param(0.6, "How strongly priorities skew sampling (0 = uniform).")
    per_beta: float = param(
        0.4, "Initial importance-weight exponent, annealed to 1 over the schedule horizon."
    )
    per_eps: float = param(1e-6, "Added to |TD error| so no transition has zero priority.")

    def __post_init__(self) -> None:
        check(self.lr > 0, "lr", f"must be positive, got {self.lr}")
        check_replay_config(self)
        check(self.n_step >= 1, "n_step", f"must be >= 1, got {self.n_step}")
        check(self.target_update_interval >= 1, "target_update_interval", "must be >= 1")
        check(0.0 <= self.exploration_fraction <= 1.0, "exploration_fraction", "must be in [0, 1]")
        for key in ("exploration_initial_eps", "exploration_final_eps"):
            check(0.0 <= getattr(self, key) <= 1.0, key, "must be in [0, 1]")
        check(self.max_grad_norm > 0, "max_grad_norm", "must be positive")
        check(self.per_alpha >= 0, "per_alpha", "must be >= 0")
        check(0.0 <= self.per_beta <= 1.0, "per_beta", "must be in [0, 1]")


def td_target(
    reward: Tensor, discount: Tensor, next_q_target: Tensor, next_q_online: Tensor | None
) -> Tensor:
    """y = R + discount * Q_target(s', a*), a* = argmax of Q_online (double) or of Q_target."""
    if next_q_online is None:
        next_value = next_q_target.max(dim=1).values
    else:
        best = next_q_online.argmax(dim=1, keepdim=True)
        next_value = next_q_target.gather(1, best).squeeze(1)
    return reward + discount * next_value


def td_loss(q_taken: Tensor, target: Tensor, weight: Tensor | None, kind: str) -> Tensor:
    """Mean (importance-weighted) Huber or squared TD error."""
    if kind == "huber":
        per_sample = F.smooth_l1_loss(q_taken, target, reduction="none")
    else:
        per_sample = 0.5 * (q_taken - target) ** 2
    if weight is not None:
        per_sample = per_sample * weight
    return per_sample.mean()


class DQN:
    """DQN on a vector env with a Discrete action space."""

    config_class = DQNConfig
    action_spaces = (spaces.Discrete,)
    # The network of SB3's DQN: two hidden layers of 256 with ReLU.
    default_backbone = BackboneSpec("mlp", {"hidden_sizes": (256, 256), "activation": "relu"})

    def __init__(
        self,
        env: VectorEnv,
        config: DQNConfig,
        *,
        device: torch.device,
        seed: int,
        horizon: int,
        backbone: BackboneSpec | None = None,
    ) -> None:
        check_buffer_holds_a_step(config.buffer_size, env.num_envs)
        self.env = env
        self.config = config
        self.device = torch.device(device)
        self.n_actions = int(env.single_action_space.n)
        obs_space = env.single_observation_space
        c = config
        self.epsilon = Linear(
            c.exploration_initial_eps, c.exploration_final_eps, c.exploration_fraction * horizon
        )
        self.lr = decay(c.lr_schedule, c.lr, horizon)
        self.per_beta = Linear(c.per_beta, 1.0, horizon)

        backbone = backbone or self.default_backbone
        with seeded_init(seed):
            features = backbone.build(obs_space)
            self.q = QNetwork(
                features, self.n_actions, config.dueling, amp=backbone.use.autocast
            ).to(self.device)
        self.q_target = copy.deepcopy(self.q).requires_grad_(False)
        # fused: one kernel for the whole update instead of one loop per parameter tensor
        self.parameters = list(self.q.parameters())
        self.optimizer = torch.optim.Adam(self.parameters, lr=config.lr, fused=True)
        self.rng = Generators(seed, self.device)
        self.generator = self.rng.device  # replay sampling and exploration draw on the device
        # training batches only (obs and next obs each their own shift, as DrQ): acting sees
        # the observations as they are
        self.augment = make_augmentation(backbone.use.augment, obs_space, self.generator)

        # the space's dtype: uint8 frames stay uint8 in the replay until the network
        obs_dtype = observation_dtype(obs_space)
        buffer_args = (config.buffer_size, obs_space.shape, obs_dtype, (), torch.long, self.device)
        self.buffer: ReplayBuffer | FrameReplayBuffer
        self.n_step: NStepFolder | None = NStepFolder(config.n_step, config.gamma)
        if is_image(obs_space):
            # Chosen by the space, as the default backbone is: uint8 [C, H, W] observations
            # are frame stacks in rlbox (Atari), so each frame is stored once and n-step returns
            # are folded at sample time; images that are not stacks are refused at the 1st step.
            self.buffer = self._frame_replay(env.num_envs, obs_space.shape, obs_dtype)
            self.n_step = None
        elif config.prioritized:
            self.buffer = PrioritizedReplayBuffer(
                *buffer_args, alpha=config.per_alpha, eps=config.per_eps
            )
        else:
            self.buffer = ReplayBuffer(*buffer_args)

        self.loop = LoopState(seed=seed)
        self.train_rounds = 0  # train_freq periods accounted for
        self.target_updates = 0  # target_update_interval periods accounted for
        self.gradient_steps = 0

    def _frame_replay(
        self, num_envs: int, obs_shape: tuple[int, ...], obs_dtype: torch.dtype
    ) -> FrameReplayBuffer:
        c = self.config
        args = (c.buffer_size, num_envs, obs_shape, obs_dtype, self.device)
        if c.prioritized:
            return PrioritizedFrameReplayBuffer(
                *args, n_step=c.n_step, gamma=c.gamma, alpha=c.per_alpha, eps=c.per_eps
            )
        return FrameReplayBuffer(*args, n_step=c.n_step, gamma=c.gamma)

    @property
    def env_steps(self) -> int:
        return self.loop.env_steps

    def backbones(self) -> list[torch.nn.Module]:
        """The backbones of the online and the target network (what `backbone.init_from`
        loads)."""
        return [self.q.backbone, self.q_target.backbone]

    def learn(self, steps: int) -> dict[str, float]:
        return run_loop(self, self.env, self.loop, steps)

    @torch.no_grad()
    def act(self, obs: Tensor, deterministic: bool = True) -> Tensor:
        if not deterministic:
            return self.explore(obs, self.env_steps)
        return self.q(obs.to(self.device)).argmax(dim=1)

    # --- what run_loop calls each step -------------------------------------------------------

    @torch.no_grad()
    def explore(self, obs: Tensor, env_steps: int) -> Tensor:
        n = obs.shape[0]
        random_action = torch.randint(
            self.n_actions, (n,), generator=self.generator, device=self.device
        )
        epsilon = self.epsilon(env_steps)
        # Before learning starts the replay is filled by uniformly random play (Mnih et al.,
        # 2015; SB3), whatever epsilon the schedule has reached.
        if env_steps < self.config.learning_starts or epsilon >= 1.0:
            return random_action
        greedy = self.q(obs).argmax(dim=1)
        explore = torch.rand(n, generator=self.generator, device=self.device) < epsilon
        return torch.where(explore, random_action, greedy)

    def observe(self, obs: Tensor, action: Tensor, step: Step) -> None:
        if self.n_step is None:  # frame replay: it folds n-step returns itself
            self.buffer.add(obs, action, step)
            return
        transitions = self.n_step.push(obs, action, step)
        if transitions is not None:
            self.buffer.add(transitions)

    def update(self, env_steps: int) -> dict[str, Tensor | float] | None:
        c = self.config
        rounds = env_steps // c.train_freq - self.train_rounds
        if env_steps < c.learning_starts or len(self.buffer) < c.batch_size:
            self.train_rounds += rounds
            return None
        self.train_rounds += rounds
        if rounds == 0:
            return None

        for group in self.optimizer.param_groups:
            group["lr"] = self.lr(env_steps)
        n = rounds * c.gradient_steps
        loss_sum = q_sum = 0.0
        for _ in range(n):
            loss, q_mean = self.train_step(beta=self.per_beta(env_steps))
            loss_sum = loss_sum + loss
            q_sum = q_sum + q_mean

        periods = env_steps // c.target_update_interval
        if periods > self.target_updates:
            self.target_updates = periods
            soft_update(self.q_target, self.q, c.tau)
        return {
            "loss": loss_sum / n,
            "q_mean": q_sum / n,
            "epsilon": self.epsilon(env_steps),
            "lr": self.optimizer.param_groups[0]["lr"],
        }

    def train_step(self, beta: float) -> tuple[Tensor, Tensor]:
        """One gradient step on a sampled batch; its (loss, mean Q) for the metrics."""
        c = self.config
        if c.prioritized:
            batch = self.buffer.sample(c.batch_size, self.generator, beta=beta)
        else:
            batch = self.buffer.sample(c.batch_size, self.generator)
        q_taken, target = self._q_and_target(batch)
        loss = td_loss(q_taken, target, batch.weight, c.loss)
        gradient_step(loss, self.optimizer, self.parameters, c.max_grad_norm)
        self.gradient_steps += 1
        if c.prioritized:
            self.buffer.update_priorities(batch.index, q_taken.detach() - target)
        return loss.detach(), q_taken.detach().mean()

    def _q_and_target(self, batch: Batch) -> tuple[Tensor, Tensor]:
        obs, next_obs = self.augment(batch.obs), self.augment(batch.next_obs)
        q_taken = self.q(obs).gather(1, batch.action.unsqueeze(1)).squeeze(1)
        with torch.no_grad():
            next_q_online = self.q(next_obs) if self.config.double else None
            next_q_target = self.q_target(next_obs)
            target = td_target(batch.reward, batch.discount, next_q_target, next_q_online)
        return q_taken, target

    # --- checkpoints ---------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Everything a resume needs; the replay (under "buffer") is what evaluation does not."""
        return {
            "q": self.q.state_dict(),
            "q_target": self.q_target.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "buffer": self.buffer.state_dict(),
            "n_step": self.n_step.state_dict() if self.n_step else {},
            "rng": self.rng.state_dict(),
            "loop": self.loop.state_dict(self.env),
            "counters": {
                "train_rounds": self.train_rounds,
                "target_updates": self.target_updates,
                "gradient_steps": self.gradient_steps,
            },
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.q.load_state_dict(state["q"])
        self.q_target.load_state_dict(state["q_target"])
        self.optimizer.load_state_dict(state["optimizer"])
        if "buffer" in state:  # a checkpoint for evaluation (best/) has none
            self.buffer.load_state_dict(state["buffer"])
        if self.n_step is not None:
            self.n_step.load_state_dict(state["n_step"], self.device)
        self.rng.load_state_dict(state["rng"])
        self.loop.load_state_dict(state["loop"], self.env)
        counters = state["counters"]
        self.train_rounds = int(counters["train_rounds"])
        self.target_updates = int(counters["target_updates"])
        self.gradient_steps = int(counters["gradient_steps"])
