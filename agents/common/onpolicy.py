"""What REINFORCE, A2C and PPO share: the actor-critic network, the collection of rollouts
(acting, normalisation, truncation bootstrapping), the alternation of collecting and training,
checkpoints. Each algorithm file adds its config fields, what a rollout is, and its loss.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch
from gymnasium import spaces
from torch import Tensor

from rlbox.agents.common.gradient import gradient_step
from rlbox.agents.common.loop import ChunkMetrics, LoopState
from rlbox.agents.common.normalize import ObsNormalizer, RewardNormalizer
from rlbox.agents.common.rng import Generators, seeded_init
from rlbox.agents.common.rollout import EpisodeBuffer, Rollout, RolloutBuffer, StepLayout
from rlbox.agents.common.schedules import decay
from rlbox.config.fields import check, param
from rlbox.envs.base import Step, VectorEnv, observation_dtype
from rlbox.errors import ConfigError
from rlbox.nn.augment import make_augmentation
from rlbox.nn.backbone import BackboneSpec
from rlbox.nn.distributions import flat_action_shape, make_policy_head
from rlbox.nn.heads import ActorCritic


@dataclass(frozen=True)
class ActorCriticConfig:
    lr: float = param(3e-4, "Learning rate.")
    lr_schedule: Literal["constant", "linear"] = param(
        "constant", "'linear' decays the learning rate to 0 over the schedule horizon."
    )
    optimizer: Literal["adam", "rmsprop"] = param("adam", "Optimizer.")
    gamma: float = param(0.99, "Discount factor.")
    shared: bool = param(False, "One backbone for actor and critic (else two).")
    ent_coef: float = param(0.0, "Weight of the entropy bonus.")
    vf_coef: float = param(0.5, "Weight of the value loss.")
    max_grad_norm: float = param(0.5, "Clip the gradient's global norm to this.")
    normalize_obs: bool = param(False, "Normalise observations by running mean and std.")
    normalize_reward: bool = param(False, "Scale rewards by the std of the discounted return.")
    log_std_init: float = param(0.0, "Initial log-std of the Gaussian policy (Box actions).")
    action_bounds: Literal["clip", "squash"] = param(
        "clip", "Box actions: clip Gaussian samples to the bounds, or squash them with tanh."
    )
    use_sde: bool = param(
        False, "Box actions: state-dependent exploration (gSDE) instead of white noise."
    )
    sde_sample_freq: int = param(
        -1, "gSDE: draw new noise weights every this many steps (-1: once per rollout)."
    )

    def __post_init__(self) -> None:
        check(self.lr > 0, "lr", f"must be positive, got {self.lr}")
        check(0.0 <= self.gamma <= 1.0, "gamma", f"must be in [0, 1], got {self.gamma}")
        check(self.ent_coef >= 0, "ent_coef", f"must be >= 0, got {self.ent_coef}")
        check(self.vf_coef >= 0, "vf_coef", f"must be >= 0, got {self.vf_coef}")
        check(self.max_grad_norm > 0, "max_grad_norm", "must be positive")
        check(
            self.sde_sample_freq == -1 or self.sde_sample_freq >= 1,
            "sde_sample_freq",
            f"must be -1 or >= 1, got {self.sde_sample_freq}",
        )


class ActorCriticAgent:
    """Base of the on-policy agents (one level). `learn` alternates the two phases of every
    on-policy algorithm: collect a rollout with the current policy, train on it. Subclasses say
    what a rollout is (`make_buffer`, and `finish_rollout` where it is not a fixed number of
    steps: REINFORCE's whole episodes) and how to train on it (`train_on`)."""

    config_class: ClassVar[type] = ActorCriticConfig
    action_spaces: ClassVar[tuple[type[spaces.Space], ...]] = (
        spaces.Discrete, spaces.MultiDiscrete, spaces.Box,
    )  # fmt: skip

    # SB3's on-policy network: two hidden layers of 64 with tanh, for the actor and the critic.
    default_backbone: ClassVar[BackboneSpec] = BackboneSpec(
        "mlp", {"hidden_sizes": (64, 64), "activation": "tanh"}
    )

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
        action_space = env.single_action_space
        if not isinstance(action_space, spaces.Box):
            box_only = {"action_bounds": "clip", "log_std_init": 0.0, "use_sde": False}
            for key, default in box_only.items():
                if getattr(config, key) != default:
                    raise ConfigError(
                        f"{key} applies to Box action spaces only; {env.env_id} has {action_space}"
                    )
        self.env = env
        self.config = config
        self.device = torch.device(device)
        self.horizon = horizon
        self.lr = decay(config.lr_schedule, config.lr, horizon)
        obs_space = env.single_observation_space
        obs_shape = obs_space.shape

        backbone = backbone or self.default_backbone
        with seeded_init(seed):
            actor_body = backbone.build(obs_space)
            critic_body = None if config.shared else backbone.build(obs_space)
            head = make_policy_head(
                action_space,
                actor_body.features_dim,
                log_std_init=config.log_std_init,
                bounds=config.action_bounds,
                sde=config.use_sde,
            )
            self.net = ActorCritic(actor_body, critic_body, head, amp=backbone.use.autocast).to(
                self.device
            )
        # action sampling, gSDE noise, minibatch shuffling and augmentation all draw from the
        # agent's own generators
        self.rng = Generators(seed, self.device)
        # training batches only: acting and evaluation see the observations as they are
        self.augment = make_augmentation(backbone.use.augment, obs_space, self.rng.device)
        self.parameters = list(self.net.parameters())
        if config.optimizer == "rmsprop":
            # As in A2C's reference implementation (Mnih et al., 2016; SB3): alpha .99, eps 1e-5.
            self.optimizer = torch.optim.RMSprop(
                self.parameters, lr=config.lr, alpha=0.99, eps=1e-5, foreach=True
            )
        else:
            # fused: one kernel per step for all parameters instead of a loop over them
            self.optimizer = torch.optim.Adam(self.parameters, lr=config.lr, eps=1e-5, fused=True)
        self.obs_norm = ObsNormalizer(obs_shape, self.device) if config.normalize_obs else None
        self.reward_norm = (
            RewardNormalizer(env.num_envs, config.gamma, self.device)
            if config.normalize_reward
            else None
        )
        self.buffer = self.make_buffer(
            StepLayout(
                num_envs=env.num_envs,
                obs_shape=obs_shape,
                # normalised observations are float32; raw ones keep the space's dtype (uint8
                # frames stay uint8 until the network, whose backbone converts them)
                obs_dtype=torch.float32 if config.normalize_obs else observation_dtype(obs_space),
                action_shape=flat_action_shape(action_space),
                action_dtype=torch.float32 if isinstance(action_space, spaces.Box) else torch.long,
                device=self.device,
            )
        )
        self.loop = LoopState(seed=seed)
        # Reading a tensor's value back (bool(), int()) is free when the device is the host's
        # CPU, and a stall of the stream on an accelerator.
        self.syncs_are_free = self.device.type == "cpu"
        self.updates = 0
        self.noise_age = 0  # gSDE: steps since the noise weights were drawn in this rollout

    def make_buffer(self, layout: StepLayout) -> RolloutBuffer | EpisodeBuffer:
        """The storage of one rollout: what a rollout is, each algorithm says."""
        raise NotImplementedError

    def train_on(self, rollout: Rollout) -> dict[str, Tensor | float]:
        """The algorithm's update on one rollout; scalar metrics to log."""
        raise NotImplementedError

    @property
    def env_steps(self) -> int:
        return self.loop.env_steps

    def learn(self, steps: int) -> dict[str, float]:
        """Collect a rollout with the current policy, train on it, and again, for `steps` more
        env steps (rounded up to whole vector steps). A rollout that the budget cuts continues
        in the next call: its steps stay in the buffer, which checkpoints hold."""
        self.loop.start(self.env)
        until = self.loop.env_steps + steps
        metrics = ChunkMetrics(self.env.device)
        while (rollout := self.collect_rollout(until, metrics)) is not None:
            metrics.add_update(self.train(rollout))
        return metrics.result()

    def normalize(self, obs: Tensor, update: bool = False) -> Tensor:
        """What the network sees of `obs`: normalised float32 when `normalize_obs` is on (and
        the statistics updated, while collecting), else the observation as it is."""
        obs = obs.to(self.device)
        return obs if self.obs_norm is None else self.obs_norm(obs.float(), update=update)

    @torch.no_grad()
    def act(self, obs: Tensor, deterministic: bool = True) -> Tensor:
        dist, _ = self.net(self.normalize(obs))
        action = dist.mode if deterministic else dist.sample(self.rng.device)
        return self.net.head.to_env(action)

    # --- collecting ----------------------------------------------------------------------------

    @torch.no_grad()
    def collect_rollout(self, until: int, metrics: ChunkMetrics) -> Rollout | None:
        """Run the current policy in the env until a rollout is complete and return it; None
        when the env steps reach `until` first (the next call continues the same rollout).
        Episodes that end are counted in `metrics`."""
        while self.loop.env_steps < until:
            metrics.add_step(self.policy_step())
            rollout = self.finish_rollout()
            if rollout is not None:
                return rollout
        return None

    def policy_step(self) -> Step:
        """One vector step of the current policy, stored with what the losses need: the
        observation as the network saw it, action, log-probability, value, reward, and the
        value to bootstrap from where a time limit cut the episode."""
        obs = self.normalize(self.loop.start(self.env), update=True)
        if self.config.use_sde:
            freq = self.config.sde_sample_freq
            if self.noise_age == 0 or (freq > 0 and self.noise_age % freq == 0):
                self.net.head.reset_noise(obs.shape[0], self.rng.device)
            self.noise_age += 1
        dist, value = self.net(obs)
        action = dist.sample(self.rng.device)
        logprob = dist.log_prob(action)
        step = self.env.step(self.net.head.to_env(action))
        reward = step.reward
        if self.reward_norm is not None:
            reward = self.reward_norm(reward, step.done)
        bootstrap = torch.zeros_like(value)
        # Where syncs are free, asking whether any copy was cut usually spares a forward pass;
        # on an accelerator the question would stall the stream, so the value is always computed.
        if not self.syncs_are_free or bool(step.truncated.any()):
            final_value = self.net.value(self.normalize(step.final_obs))
            bootstrap = torch.where(step.truncated, final_value, bootstrap)
        self.buffer.add(obs, action, logprob, value, reward, step.terminated.float(),
                        step.done.float(), bootstrap)  # fmt: skip
        self.loop.obs = step.obs
        self.loop.env_steps += self.env.num_envs
        return step

    def finish_rollout(self) -> Rollout | None:
        """The rollout once the buffer is full, with GAE advantages bootstrapped from V of the
        observation after its last step (A2C, PPO); None before."""
        if not self.buffer.full:
            return None
        return self.buffer.compute(self.net.value(self.normalize(self.loop.obs)))

    # --- training ------------------------------------------------------------------------------

    def train(self, rollout: Rollout) -> dict[str, Tensor | float]:
        """`train_on` at the scheduled learning rate; the next rollout draws new gSDE noise."""
        for group in self.optimizer.param_groups:
            group["lr"] = self.lr(self.env_steps)
        self.net.train()
        metrics = self.train_on(rollout)
        self.updates += 1
        self.noise_age = 0
        metrics["lr"] = self.optimizer.param_groups[0]["lr"]
        return metrics

    def backbones(self) -> list[torch.nn.Module]:
        """The backbones of the agent's networks (what `backbone.init_from` loads)."""
        return self.net.backbones()

    def gradient_step(self, loss: Tensor) -> None:
        """One clipped step of this agent's optimizer on `loss` (agents/common/gradient.py)."""
        gradient_step(loss, self.optimizer, self.parameters, self.config.max_grad_norm)

    # --- checkpoints ---------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        """Everything a resume needs; the rollout in progress (under "buffer") is what
        evaluation does not."""
        state: dict[str, Any] = {
            "net": self.net.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "buffer": self.buffer.state_dict(),
            "rng": self.rng.state_dict(),
            "loop": self.loop.state_dict(self.env),
            "counters": {"updates": self.updates, "noise_age": self.noise_age},
        }
        if self.config.use_sde:
            state["sde_weights"] = self.net.head.weights
        if self.obs_norm is not None:
            state["obs_norm"] = self.obs_norm.rms.state_dict()
        if self.reward_norm is not None:
            state["reward_norm"] = self.reward_norm.state_dict()
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.net.load_state_dict(state["net"])
        self.optimizer.load_state_dict(state["optimizer"])
        if "buffer" in state:  # a checkpoint for evaluation (best/) has none
            self.buffer.load_state_dict(state["buffer"])
        self.rng.load_state_dict(state["rng"])
        if self.config.use_sde:
            self.net.head.weights = state["sde_weights"].to(self.device)
        if self.obs_norm is not None:
            self.obs_norm.rms.load_state_dict(state["obs_norm"])
        if self.reward_norm is not None:
            self.reward_norm.load_state_dict(state["reward_norm"])
        self.loop.load_state_dict(state["loop"], self.env)
        self.updates = int(state["counters"]["updates"])
        self.noise_age = int(state["counters"]["noise_age"])
