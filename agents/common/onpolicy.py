"""What REINFORCE, A2C and PPO share: the actor-critic network, acting, normalisation, storage
of transitions with truncation bootstrapping, checkpoints. Each algorithm file adds its config
fields, when it learns, and its loss.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import torch
from gymnasium import spaces
from torch import Tensor

from rlbox.agents.common.loop import LoopState, run_loop
from rlbox.agents.common.normalize import ObsNormalizer, RewardNormalizer
from rlbox.agents.common.rng import Generators, seeded_init
from rlbox.agents.common.rollout import EpisodeBuffer, Rollout, RolloutBuffer
from rlbox.agents.common.schedules import decay
from rlbox.config.fields import check, param
from rlbox.envs.base import Step, VectorEnv
from rlbox.errors import ConfigError
from rlbox.nn.distributions import flat_action_shape, make_policy_head
from rlbox.nn.networks import ACTIVATIONS, MLP, ActorCritic


@dataclass(frozen=True)
class ActorCriticConfig:
    lr: float = param(3e-4, "Learning rate.")
    lr_schedule: Literal["constant", "linear"] = param(
        "constant", "'linear' decays the learning rate to 0 over the schedule horizon."
    )
    optimizer: Literal["adam", "rmsprop"] = param("adam", "Optimizer.")
    gamma: float = param(0.99, "Discount factor.")
    hidden_sizes: tuple[int, ...] = param((64, 64), "Hidden layer sizes of each MLP.")
    activation: Literal["tanh", "relu"] = param("tanh", "Hidden activation.")
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
        check(len(self.hidden_sizes) > 0, "hidden_sizes", "needs at least one layer")
        check(all(h > 0 for h in self.hidden_sizes), "hidden_sizes", "sizes must be positive")
        check(self.ent_coef >= 0, "ent_coef", f"must be >= 0, got {self.ent_coef}")
        check(self.vf_coef >= 0, "vf_coef", f"must be >= 0, got {self.vf_coef}")
        check(self.max_grad_norm > 0, "max_grad_norm", "must be positive")
        check(
            self.sde_sample_freq == -1 or self.sde_sample_freq >= 1,
            "sde_sample_freq",
            f"must be -1 or >= 1, got {self.sde_sample_freq}",
        )


class ActorCriticAgent:
    """Base of the on-policy agents (one level): subclasses define `ready` and `train_on`."""

    config_class: ClassVar[type] = ActorCriticConfig
    action_spaces: ClassVar[tuple[type[spaces.Space], ...]] = (
        spaces.Discrete, spaces.MultiDiscrete, spaces.Box,
    )  # fmt: skip

    def __init__(
        self, env: VectorEnv, config: Any, *, device: torch.device, seed: int, horizon: int
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
        obs_shape = env.single_observation_space.shape

        activation = ACTIVATIONS[config.activation]
        with seeded_init(seed):
            actor_body = MLP(obs_shape, config.hidden_sizes, activation)
            critic_body = None if config.shared else MLP(obs_shape, config.hidden_sizes, activation)
            head = make_policy_head(
                action_space,
                actor_body.features_dim,
                log_std_init=config.log_std_init,
                bounds=config.action_bounds,
                sde=config.use_sde,
            )
            self.net = ActorCritic(actor_body, critic_body, head).to(self.device)
        # action sampling, gSDE noise and minibatch shuffling all draw from the agent's own
        self.rng = Generators(seed, self.device)
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
        action_dtype = torch.float32 if isinstance(action_space, spaces.Box) else torch.long
        self.buffer = self.make_buffer(obs_shape, flat_action_shape(action_space), action_dtype)
        self.loop = LoopState(seed=seed)
        # Asking the device a question (bool, item) is free on the host, a stall elsewhere.
        self.asks_host = self.device.type == "cpu"
        self.updates = 0
        self._noise_age = 0  # gSDE: steps since the noise weights were drawn in this rollout
        self._pending: tuple[Tensor, Tensor, Tensor, Tensor] | None = None
        self._next_obs: Tensor | None = None

    def make_buffer(
        self, obs_shape: tuple[int, ...], action_shape: tuple[int, ...], action_dtype: torch.dtype
    ) -> RolloutBuffer | EpisodeBuffer:
        return RolloutBuffer(
            self.config.n_steps, self.env.num_envs, obs_shape, action_shape, action_dtype,
            self.device,
        )  # fmt: skip

    @property
    def env_steps(self) -> int:
        return self.loop.env_steps

    def learn(self, steps: int) -> dict[str, float]:
        return run_loop(self, self.env, self.loop, steps)

    def normalize(self, obs: Tensor, update: bool = False) -> Tensor:
        obs = obs.to(self.device).float()
        return obs if self.obs_norm is None else self.obs_norm(obs, update=update)

    @torch.no_grad()
    def act(self, obs: Tensor, deterministic: bool = True) -> Tensor:
        dist, _ = self.net(self.normalize(obs))
        action = dist.mode if deterministic else dist.sample(self.rng.device)
        return self.net.head.to_env(action)

    # --- the shared loop's hooks -------------------------------------------------------------

    @torch.no_grad()
    def explore(self, obs: Tensor, env_steps: int) -> Tensor:
        obs = self.normalize(obs, update=True)
        if self.config.use_sde:
            freq = self.config.sde_sample_freq
            if self._noise_age == 0 or (freq > 0 and self._noise_age % freq == 0):
                self.net.head.reset_noise(obs.shape[0], self.rng.device)
            self._noise_age += 1
        dist, value = self.net(obs)
        action = dist.sample(self.rng.device)
        self._pending = (obs, action, dist.log_prob(action), value)
        return self.net.head.to_env(action)

    @torch.no_grad()
    def observe(self, obs: Tensor, action: Tensor, step: Step) -> None:
        norm_obs, raw_action, logprob, value = self._pending
        reward = step.reward
        if self.reward_norm is not None:
            reward = self.reward_norm(reward, step.done)
        bootstrap = torch.zeros_like(value)
        # On the host, asking whether any copy was cut is free and usually spares a forward pass;
        # on an accelerator the question would stall the stream, so the value is always computed.
        if not self.asks_host or bool(step.truncated.any()):
            final_value = self.net.value(self.normalize(step.final_obs))
            bootstrap = torch.where(step.truncated, final_value, bootstrap)
        self.buffer.add(norm_obs, raw_action, logprob, value, reward, step.terminated.float(),
                        step.done.float(), bootstrap)  # fmt: skip
        self._next_obs = step.obs

    def update(self, env_steps: int) -> dict[str, Tensor | float] | None:
        if not self.ready():
            return None
        for group in self.optimizer.param_groups:
            group["lr"] = self.lr(env_steps)
        rollout = self.collect_rollout()
        if rollout is None:
            return None
        self.net.train()
        metrics = self.train_on(rollout)
        self.updates += 1
        self._noise_age = 0
        metrics["lr"] = self.optimizer.param_groups[0]["lr"]
        return metrics

    def ready(self) -> bool:
        return self.buffer.full

    def collect_rollout(self) -> Rollout | None:
        with torch.no_grad():
            last_value = self.net.value(self.normalize(self._next_obs))
        return self.buffer.compute(last_value, self.config.gamma, self.config.gae_lambda)

    def train_on(self, rollout: Rollout) -> dict[str, Tensor | float]:
        raise NotImplementedError

    def gradient_step(self, loss: Tensor) -> None:
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.parameters, self.config.max_grad_norm, foreach=True)
        self.optimizer.step()

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
            "counters": {"updates": self.updates, "noise_age": self._noise_age},
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
        self._noise_age = int(state["counters"]["noise_age"])
