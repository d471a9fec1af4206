"""What the off-policy actor-critics for Box actions (SAC, TD3) share: the config keys they
have in common, the replay, when to learn, the action scaling and the checkpoints. Each
algorithm file says how to explore and what one gradient step is (`explore_action`,
`policy_action`, `train_step`), top to bottom.

They run on the step loop of DQN (agents/common/loop.py), and `train_freq`, `gradient_steps`
and `learning_starts` mean what they mean there: every `train_freq` env steps (summed over the
vector's copies) `gradient_steps` gradient steps, none before `learning_starts` env steps of
uniformly random play. Inside the agent, actions are in [-1, 1]^d (replay, losses, noise);
`ActionScale` maps them onto the env's bounds.
"""

from __future__ import annotations

import copy
import math
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch
from gymnasium import spaces
from torch import Tensor, nn

from rlbox.agents.common.loop import LoopState, run_loop
from rlbox.agents.common.replay import (
    Batch,
    ReplayBuffer,
    Transitions,
    check_buffer_holds_a_step,
    check_replay_config,
)
from rlbox.agents.common.rng import Generators, seeded_init
from rlbox.agents.common.schedules import decay
from rlbox.config.fields import check, param
from rlbox.envs.base import Step, VectorEnv, observation_dtype
from rlbox.errors import ConfigError
from rlbox.nn.augment import make_augmentation
from rlbox.nn.backbone import BackboneSpec
from rlbox.nn.heads import ActionScale, TwinQ


@dataclass(frozen=True)
class OffPolicyConfig:
    lr: float = param(3e-4, "Adam learning rate of every network.")
    lr_schedule: Literal["constant", "linear"] = param(
        "constant", "'linear' decays the learning rate to 0 over the schedule horizon."
    )
    batch_size: int = param(256, "Transitions per gradient step.")
    buffer_size: int = param(1_000_000, "Replay capacity in transitions.")
    learning_starts: int = param(100, "Environment steps of uniformly random play before learning.")
    gamma: float = param(0.99, "Discount factor.")
    tau: float = param(0.005, "Polyak coefficient of the target networks.")
    train_freq: int = param(
        1, "Env steps, summed over the vector's copies, between two rounds of gradient steps."
    )
    gradient_steps: int = param(1, "Gradient steps per round.")
    net_arch: tuple[int, ...] = param(
        (256, 256), "Hidden sizes of the actor's and each critic's MLP, on the backbone."
    )
    max_grad_norm: float = param(0.0, "Clip each gradient's global norm to this (0: no clipping).")

    def __post_init__(self) -> None:
        check(self.lr > 0, "lr", f"must be positive, got {self.lr}")
        check_replay_config(self)
        check(all(h >= 1 for h in self.net_arch), "net_arch", "sizes must be >= 1")
        check(self.max_grad_norm >= 0, "max_grad_norm", "must be >= 0")


class OffPolicyActorCritic:
    """Base of SAC and TD3 (one level). Subclasses say what their actor is (`make_actor`), add
    their other networks in `build` to `self.networks` and `self.optimizers` (what a checkpoint
    holds), and say how to explore and what one gradient step is."""

    config_class: ClassVar[type] = OffPolicyConfig
    action_spaces: ClassVar[tuple[type[spaces.Space], ...]] = (spaces.Box,)
    # SB3's features extractor for vectors: the networks read [s, a] through `net_arch`.
    default_backbone: ClassVar[BackboneSpec] = BackboneSpec("flatten")

    actor: nn.Module
    critic: nn.Module

    def __init__(
        self,
        env: VectorEnv,
        config: Any,
        *,
        device: torch.device,
        seed: int,
        horizon: int,
        backbone: BackboneSpec | None = None,
    ) -> None:
        space = env.single_action_space
        if not space.is_bounded("both"):
            raise ConfigError(
                f"{type(self).__name__} needs finite action bounds; {env.env_id} has {space}"
            )
        check_buffer_holds_a_step(config.buffer_size, env.num_envs)
        self.env = env
        self.config = config
        self.device = torch.device(device)
        self.lr = decay(config.lr_schedule, config.lr, horizon)
        self.action_dim = math.prod(space.shape)
        self.scale = ActionScale(space).to(self.device)
        self.networks: dict[str, nn.Module] = {}
        self.optimizers: dict[str, torch.optim.Optimizer] = {}
        backbone = backbone or self.default_backbone
        obs_space = env.single_observation_space
        self.build(backbone, obs_space, seed)
        self.rng = Generators(seed, self.device)
        self.generator = self.rng.device  # replay indices, random play, policy and noise draws
        # training batches only (obs and next obs each their own shift, as DrQ)
        self.augment = make_augmentation(backbone.use.augment, obs_space, self.generator)
        self.buffer = ReplayBuffer(
            config.buffer_size,
            obs_space.shape,
            observation_dtype(obs_space),
            (self.action_dim,),
            torch.float32,
            self.device,
        )
        self.loop = LoopState(seed=seed)
        self.train_rounds = 0  # train_freq periods accounted for
        self.gradient_steps = 0

    # --- what each algorithm says ---------------------------------------------------------------

    def make_actor(self, backbone: nn.Module, amp: torch.dtype | None) -> nn.Module:
        """The algorithm's actor on `backbone`'s features."""
        raise NotImplementedError

    def build(self, backbone: BackboneSpec, obs_space: spaces.Space, seed: int) -> None:
        """From `seed`: the actor and the twin critic, each on a backbone of its own (the two
        Q-functions share the critic's, as SB3's do), the critic's target, and an Adam
        optimizer for each (fused: one kernel per step for all of a network's parameters).
        Subclasses add what else they have."""
        c = self.config
        amp = backbone.use.autocast
        with seeded_init(seed):
            self.actor = self.make_actor(backbone.build(obs_space), amp).to(self.device)
            critic = TwinQ(backbone.build(obs_space), self.action_dim, c.net_arch, 2, amp)
            self.critic = critic.to(self.device)
        self.critic_target = copy.deepcopy(self.critic).requires_grad_(False)
        self.networks = {
            "actor": self.actor,
            "critic": self.critic,
            "critic_target": self.critic_target,
        }
        self.actor_params = list(self.actor.parameters())
        self.critic_params = list(self.critic.parameters())
        self.optimizers = {
            "actor": torch.optim.Adam(self.actor_params, lr=c.lr, fused=True),
            "critic": torch.optim.Adam(self.critic_params, lr=c.lr, fused=True),
        }

    def explore_action(self, obs: Tensor) -> Tensor:
        """Actions in [-1, 1]^d to take while training, once learning has started."""
        raise NotImplementedError

    def policy_action(self, obs: Tensor) -> Tensor:
        """The deterministic action in [-1, 1]^d (evaluation)."""
        raise NotImplementedError

    def train_step(self, batch: Batch) -> dict[str, Tensor]:
        """One gradient step of every network on `batch`; scalar metrics."""
        raise NotImplementedError

    # --- the Agent interface --------------------------------------------------------------------

    @property
    def env_steps(self) -> int:
        return self.loop.env_steps

    def backbones(self) -> list[nn.Module]:
        """Every network's backbone, targets included (what `backbone.init_from` loads)."""
        return [net.backbone for net in self.networks.values() if hasattr(net, "backbone")]

    def learn(self, steps: int) -> dict[str, float]:
        return run_loop(self, self.env, self.loop, steps)

    @torch.no_grad()
    def act(self, obs: Tensor, deterministic: bool = True) -> Tensor:
        obs = obs.to(self.device)
        if not deterministic:
            return self.explore(obs, self.env_steps)
        return self.scale.to_env(self.policy_action(obs))

    # --- what run_loop calls each step ----------------------------------------------------------

    @torch.no_grad()
    def explore(self, obs: Tensor, env_steps: int) -> Tensor:
        if env_steps < self.config.learning_starts:
            shape = (obs.shape[0], self.action_dim)
            action = torch.rand(shape, generator=self.generator, device=self.device) * 2 - 1
        else:
            action = self.explore_action(obs.to(self.device))
        return self.scale.to_env(action)

    def observe(self, obs: Tensor, action: Tensor, step: Step) -> None:
        # a truncated episode bootstraps from the observation it was cut at; a terminated one not
        discount = self.config.gamma * (~step.terminated).float()
        action = self.scale.from_env(action)
        self.buffer.add(Transitions(obs, action, step.reward, step.final_obs, discount))

    def update(self, env_steps: int) -> dict[str, Tensor | float] | None:
        c = self.config
        rounds = env_steps // c.train_freq - self.train_rounds
        self.train_rounds += rounds
        if env_steps < c.learning_starts or len(self.buffer) < c.batch_size or rounds == 0:
            return None
        lr = self.lr(env_steps)
        for optimizer in self.optimizers.values():
            for group in optimizer.param_groups:
                group["lr"] = lr
        n = rounds * c.gradient_steps
        sums: dict[str, Tensor] = {}
        for _ in range(n):
            batch = self.buffer.sample(c.batch_size, self.generator)
            batch.obs, batch.next_obs = self.augment(batch.obs), self.augment(batch.next_obs)
            self.gradient_steps += 1
            for key, value in self.train_step(batch).items():
                sums[key] = sums[key] + value if key in sums else value
        return {**{key: value / n for key, value in sums.items()}, "lr": lr}

    # --- checkpoints ----------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Everything a resume needs; the replay (under "buffer") is what evaluation does not."""
        return {
            "networks": {name: net.state_dict() for name, net in self.networks.items()},
            "optimizers": {name: opt.state_dict() for name, opt in self.optimizers.items()},
            "buffer": self.buffer.state_dict(),
            "rng": self.rng.state_dict(),
            "loop": self.loop.state_dict(self.env),
            "counters": {
                "train_rounds": self.train_rounds,
                "gradient_steps": self.gradient_steps,
            },
        }

    def load_state_dict(self, state: dict[str, Any]) -> None:
        for name, net in self.networks.items():
            net.load_state_dict(state["networks"][name])
        for name, optimizer in self.optimizers.items():
            optimizer.load_state_dict(state["optimizers"][name])
        if "buffer" in state:  # a checkpoint for evaluation (best/) has none
            self.buffer.load_state_dict(state["buffer"])
        self.rng.load_state_dict(state["rng"])
        self.loop.load_state_dict(state["loop"], self.env)
        self.train_rounds = int(state["counters"]["train_rounds"])
        self.gradient_steps = int(state["counters"]["gradient_steps"])
