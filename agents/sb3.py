"""Stable-Baselines3 algorithms behind rlbox's `Agent` interface: `sb3-ppo`, `sb3-a2c`,
`sb3-dqn`, `sb3-sac`, `sb3-td3`, `sb3-ddpg`.

SB3's algorithms run unchanged; what rlbox supplies is around them:

- the environment: rlbox's own vector env (the same seeds, truncation handling and episode
  statistics as the hand-written agents get), seen by SB3 as a `VecEnv`;
- the step budget: `learn(steps)` continues training (`reset_num_timesteps=False`), schedules
  run over the whole budget rather than over one `learn` call, and training stops at the budget
  within one vector step, so comparisons use equal numbers of env steps;
- checkpoints: SB3's own `model.zip` (loadable with `PPO.load`), with the replay buffer and the
  VecNormalize statistics as tensors beside it, inside the run's checkpoint directory.

Config keys are SB3's constructor arguments and their defaults are SB3's; `net_arch`,
`activation`, `ortho_init` and `log_std_init` go to `policy_kwargs`, and `normalize_obs` /
`normalize_reward` wrap the env in SB3's VecNormalize (the RL Zoo's `normalize: true`).
SB3 is imported only when one of these agents is built.
"""

from __future__ import annotations

import dataclasses
import io
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
import torch
from gymnasium import spaces
from torch import Tensor

from rlbox.config import check, param
from rlbox.envs.base import VectorEnv
from rlbox.errors import MissingExtraError
from rlbox.logger import tensorboard_without_tensorflow

# --- configs: SB3's argument names and defaults ----------------------------------------------


@dataclass(frozen=True)
class SB3Config:
    learning_rate: float = param(3e-4, "Learning rate.")
    lr_schedule: Literal["constant", "linear"] = param(
        "constant", "'linear' decays the learning rate to 0 over the budget (RL Zoo's lin_)."
    )
    gamma: float = param(0.99, "Discount factor.")
    net_arch: tuple[int, ...] = param((64, 64), "Hidden layer sizes (policy_kwargs.net_arch).")
    activation: Literal["tanh", "relu"] = param("tanh", "Hidden activation (activation_fn).")
    normalize_obs: bool = param(False, "Wrap the env in VecNormalize for observations.")
    normalize_reward: bool = param(False, "Wrap the env in VecNormalize for rewards.")

    def __post_init__(self) -> None:
        check(self.learning_rate > 0, "learning_rate", "must be positive")
        check(0.0 <= self.gamma <= 1.0, "gamma", f"must be in [0, 1], got {self.gamma}")
        check(all(h > 0 for h in self.net_arch), "net_arch", "sizes must be positive")


@dataclass(frozen=True)
class SB3PPOConfig(SB3Config):
    n_steps: int = param(2048, "Steps per env copy in each rollout.")
    batch_size: int = param(64, "Minibatch size.")
    n_epochs: int = param(10, "Passes over each rollout.")
    gae_lambda: float = param(0.95, "GAE lambda.")
    clip_range: float = param(0.2, "Clip the probability ratio to [1 - c, 1 + c].")
    clip_range_schedule: Literal["constant", "linear"] = param(
        "constant", "'linear' decays clip_range to 0 over the budget."
    )
    clip_range_vf: float = param(0.0, "Clip value updates to this distance (0: no clipping).")
    normalize_advantage: bool = param(True, "Normalise advantages per minibatch.")
    ent_coef: float = param(0.0, "Weight of the entropy bonus.")
    vf_coef: float = param(0.5, "Weight of the value loss.")
    max_grad_norm: float = param(0.5, "Clip the gradient's global norm to this.")
    use_sde: bool = param(False, "Generalized state-dependent exploration (Box actions).")
    sde_sample_freq: int = param(-1, "gSDE: new noise every this many steps (-1: per rollout).")
    target_kl: float = param(0.0, "Stop the epochs when the approximate KL exceeds this (0: off).")
    ortho_init: bool = param(True, "Orthogonal initialisation (policy_kwargs.ortho_init).")
    log_std_init: float = param(0.0, "Initial log-std of the Gaussian policy (Box actions).")

    def __post_init__(self) -> None:
        super().__post_init__()
        check(self.n_steps >= 1, "n_steps", f"must be >= 1, got {self.n_steps}")
        check(self.batch_size >= 1, "batch_size", f"must be >= 1, got {self.batch_size}")
        check(self.clip_range > 0, "clip_range", f"must be positive, got {self.clip_range}")


@dataclass(frozen=True)
class SB3A2CConfig(SB3Config):
    learning_rate: float = param(7e-4, "Learning rate.")
    n_steps: int = param(5, "Steps per env copy in each rollout.")
    gae_lambda: float = param(1.0, "GAE lambda.")
    ent_coef: float = param(0.0, "Weight of the entropy bonus.")
    vf_coef: float = param(0.5, "Weight of the value loss.")
    max_grad_norm: float = param(0.5, "Clip the gradient's global norm to this.")
    use_rms_prop: bool = param(True, "RMSprop (else Adam).")
    rms_prop_eps: float = param(1e-5, "RMSprop epsilon.")
    normalize_advantage: bool = param(False, "Normalise advantages per rollout.")
    use_sde: bool = param(False, "Generalized state-dependent exploration (Box actions).")
    sde_sample_freq: int = param(-1, "gSDE: new noise every this many steps (-1: per rollout).")
    ortho_init: bool = param(True, "Orthogonal initialisation (policy_kwargs.ortho_init).")
    log_std_init: float = param(0.0, "Initial log-std of the Gaussian policy (Box actions).")

    def __post_init__(self) -> None:
        super().__post_init__()
        check(self.n_steps >= 1, "n_steps", f"must be >= 1, got {self.n_steps}")


@dataclass(frozen=True)
class SB3OffPolicyConfig(SB3Config):
    buffer_size: int = param(1_000_000, "Replay buffer capacity (transitions).")
    learning_starts: int = param(100, "Env steps of random actions before learning starts.")
    batch_size: int = param(256, "Minibatch size.")
    tau: float = param(0.005, "Polyak coefficient of the target networks.")
    train_freq: int = param(1, "Env steps (per copy) between rounds of gradient steps.")
    gradient_steps: int = param(1, "Gradient steps per round (-1: as many as env steps).")
    activation: Literal["tanh", "relu"] = param("relu", "Hidden activation (activation_fn).")

    def __post_init__(self) -> None:
        super().__post_init__()
        check(self.buffer_size >= 1, "buffer_size", "must be >= 1")
        check(self.batch_size >= 1, "batch_size", f"must be >= 1, got {self.batch_size}")
        check(self.train_freq >= 1, "train_freq", f"must be >= 1, got {self.train_freq}")
        check(0.0 < self.tau <= 1.0, "tau", f"must be in (0, 1], got {self.tau}")


@dataclass(frozen=True)
class SB3DQNConfig(SB3OffPolicyConfig):
    learning_rate: float = param(1e-4, "Learning rate.")
    batch_size: int = param(32, "Minibatch size.")
    tau: float = param(1.0, "Polyak coefficient of the target network (1: hard copy).")
    train_freq: int = param(4, "Env steps (per copy) between rounds of gradient steps.")
    target_update_interval: int = param(10_000, "Env steps between target updates.")
    exploration_fraction: float = param(0.1, "Fraction of the budget epsilon decays over.")
    exploration_initial_eps: float = param(1.0, "Initial epsilon.")
    exploration_final_eps: float = param(0.05, "Final epsilon.")
    max_grad_norm: float = param(10.0, "Clip the gradient's global norm to this.")


@dataclass(frozen=True)
class SB3SACConfig(SB3OffPolicyConfig):
    ent_coef: str = param("auto", "Entropy weight: a number, 'auto' or 'auto_<initial>'.")
    target_entropy: str = param("auto", "Target entropy for ent_coef='auto': a number or 'auto'.")
    target_update_interval: int = param(1, "Gradient steps between target updates.")
    use_sde: bool = param(False, "Generalized state-dependent exploration.")
    sde_sample_freq: int = param(-1, "gSDE: new noise every this many steps (-1: per rollout).")
    net_arch: tuple[int, ...] = param((256, 256), "Hidden layer sizes (policy_kwargs.net_arch).")
    log_std_init: float = param(-3.0, "Initial log-std of the Gaussian policy.")

    def __post_init__(self) -> None:
        super().__post_init__()
        for key in ("ent_coef", "target_entropy"):
            value = getattr(self, key)
            check(_auto_or_number(value), key, f"must be a number or 'auto...', not {value!r}")


@dataclass(frozen=True)
class SB3TD3Config(SB3OffPolicyConfig):
    learning_rate: float = param(1e-3, "Learning rate.")
    net_arch: tuple[int, ...] = param((400, 300), "Hidden layer sizes (policy_kwargs.net_arch).")
    action_noise_std: float = param(0.1, "Std of the Gaussian exploration noise, in action units.")
    policy_delay: int = param(2, "Critic updates per actor update.")
    target_policy_noise: float = param(0.2, "Std of the target policy smoothing noise.")
    target_noise_clip: float = param(0.5, "Clip of the target policy smoothing noise.")


@dataclass(frozen=True)
class SB3DDPGConfig(SB3OffPolicyConfig):
    learning_rate: float = param(1e-3, "Learning rate.")
    net_arch: tuple[int, ...] = param((400, 300), "Hidden layer sizes (policy_kwargs.net_arch).")
    action_noise_std: float = param(0.1, "Std of the Gaussian exploration noise, in action units.")


def _auto_or_number(value: str) -> bool:
    if value.startswith("auto"):
        return True
    try:
        float(value)
    except ValueError:
        return False
    return True


# --- the environment, as SB3 sees it ---------------------------------------------------------


def _import_sb3() -> Any:
    tensorboard_without_tensorflow()  # SB3's logger imports TensorBoard
    try:
        import stable_baselines3
    except ImportError:
        raise MissingExtraError("stable-baselines3", "sb3") from None
    return stable_baselines3


def _vec_env(env: VectorEnv) -> Any:
    """rlbox's VectorEnv as an SB3 VecEnv: numpy in and out, SB3's info keys on episode ends."""
    from stable_baselines3.common.vec_env import VecEnv

    class RlboxVecEnv(VecEnv):
        def __init__(self) -> None:
            self.env = env
            self.finished: list[tuple[float, int]] = []  # (return, length) since last taken
            self._actions: np.ndarray | None = None
            super().__init__(env.num_envs, env.single_observation_space, env.single_action_space)

        def reset(self) -> np.ndarray:
            obs = env.reset(seed=self._seeds[0])
            self._reset_seeds()
            return obs.cpu().numpy()

        def step_async(self, actions: np.ndarray) -> None:
            self._actions = actions

        def step_wait(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[dict]]:
            step = env.step(torch.as_tensor(self._actions, device=env.device))
            done = step.done.cpu().numpy()
            infos: list[dict[str, Any]] = [{} for _ in range(self.num_envs)]
            if done.any():
                final_obs = step.final_obs.cpu().numpy()
                truncated = (step.truncated & ~step.terminated).cpu().numpy()
                returns = step.episode_return.cpu().numpy()
                lengths = step.episode_length.cpu().numpy()
                for i in np.flatnonzero(done):
                    infos[i] = {
                        "terminal_observation": final_obs[i],
                        "TimeLimit.truncated": bool(truncated[i]),
                        "episode": {"r": float(returns[i]), "l": int(lengths[i]), "t": 0.0},
                    }
                    self.finished.append((float(returns[i]), int(lengths[i])))
            return step.obs.cpu().numpy(), step.reward.cpu().numpy(), done, infos

        def close(self) -> None:
            env.close()

        def get_attr(self, attr_name: str, indices: Any = None) -> list[Any]:
            if attr_name == "render_mode":
                return [None] * self.num_envs
            raise AttributeError(attr_name)

        def set_attr(self, attr_name: str, value: Any, indices: Any = None) -> None:
            raise AttributeError(attr_name)

        def env_method(self, method_name: str, *args: Any, indices: Any = None, **kw: Any) -> list:
            raise AttributeError(method_name)

        def env_is_wrapped(self, wrapper_class: type, indices: Any = None) -> list[bool]:
            return [False] * self.num_envs

    return RlboxVecEnv()


def _budgeted(algorithm: type, budget: int) -> type:
    """`algorithm` with its schedules' progress measured against the run's budget.

    SB3 measures progress against the current `learn` call's total; rlbox calls `learn` once
    per logging chunk, so without this a linear schedule would restart in every chunk.
    """

    class Budgeted(algorithm):
        def _update_current_progress_remaining(self, num_timesteps: int, total: int) -> None:
            super()._update_current_progress_remaining(num_timesteps, budget)

    Budgeted.__name__ = algorithm.__name__
    return Budgeted


# --- the agents --------------------------------------------------------------------------------


class SB3Agent:
    """One SB3 algorithm on rlbox's vector env; subclasses name it and map their config."""

    config_class: ClassVar[type] = SB3Config
    algorithm: ClassVar[str]
    action_spaces: ClassVar[tuple[type[spaces.Space], ...]]
    requires: ClassVar = (("stable_baselines3", "stable-baselines3", "sb3"),)
    policy_keys: ClassVar[tuple[str, ...]] = ("ortho_init", "log_std_init")
    rlbox_keys: ClassVar[tuple[str, ...]] = (
        "lr_schedule", "net_arch", "activation", "normalize_obs", "normalize_reward",
    )  # fmt: skip

    def __init__(
        self, env: VectorEnv, config: SB3Config, *, device: torch.device, seed: int, budget: int
    ) -> None:
        sb3 = _import_sb3()
        from stable_baselines3.common.logger import Logger
        from stable_baselines3.common.vec_env import VecNormalize

        self.config = config
        self.device = torch.device(device)
        self.seed = seed
        self.budget = budget
        self.vec = _vec_env(env)
        self.venv = self.vec
        if config.normalize_obs or config.normalize_reward:
            self.venv = VecNormalize(
                self.vec,
                norm_obs=config.normalize_obs,
                norm_reward=config.normalize_reward,
                gamma=config.gamma,
            )
        self.cls = _budgeted(getattr(sb3, self.algorithm), budget)
        self.model = self.cls(
            "MlpPolicy", self.venv, seed=seed, device=self.device, verbose=0, **self.kwargs()
        )
        self.model.set_logger(Logger(folder=None, output_formats=[]))

    @property
    def env_steps(self) -> int:
        return int(self.model.num_timesteps)

    def kwargs(self) -> dict[str, Any]:
        """SB3 constructor arguments from the config."""
        from stable_baselines3.common.utils import ConstantSchedule, LinearSchedule

        c = self.config
        values = dataclasses.asdict(c)
        policy_kwargs: dict[str, Any] = {
            "net_arch": list(c.net_arch),
            "activation_fn": {"tanh": torch.nn.Tanh, "relu": torch.nn.ReLU}[c.activation],
        }
        for key in self.policy_keys:
            if key in values:
                policy_kwargs[key] = values.pop(key)
        for key in self.rlbox_keys:
            values.pop(key)
        values["learning_rate"] = (
            LinearSchedule(c.learning_rate, 0.0, 1.0)
            if c.lr_schedule == "linear"
            else ConstantSchedule(c.learning_rate)
        )
        return {**values, "policy_kwargs": policy_kwargs}

    def learn(self, steps: int) -> dict[str, float]:
        from stable_baselines3.common.callbacks import BaseCallback

        budget = self.budget

        class StopAtBudget(BaseCallback):
            def _on_step(self) -> bool:
                return self.num_timesteps < budget

        if self.model._last_obs is None:
            # A fresh start or a resume: reseed so that a resumed run draws new episodes.
            self.venv.seed(self.seed + self.env_steps)
        self.vec.finished.clear()
        self.model.learn(
            steps, callback=StopAtBudget(), log_interval=None, reset_num_timesteps=False
        )
        logger = self.model.logger
        metrics = {
            key.removeprefix("train/"): float(value)
            for key, value in logger.name_to_value.items()
            if key.startswith("train/") and key != "train/n_updates"
        }
        logger.dump(self.env_steps)  # clears the recorded values; no output is attached
        episodes = self.vec.finished
        metrics["episodes"] = float(len(episodes))
        if episodes:
            metrics["train_return"] = float(np.mean([r for r, _ in episodes]))
            metrics["train_length"] = float(np.mean([n for _, n in episodes]))
        return metrics

    def act(self, obs: Tensor, deterministic: bool = True) -> Tensor:
        x = obs.cpu().numpy()
        if self.venv is not self.vec:
            x = self.venv.normalize_obs(x)
        action, _ = self.model.predict(x, deterministic=deterministic)
        return torch.as_tensor(action, device=obs.device)

    # --- checkpoints ---------------------------------------------------------------------------

    def state_dict(self) -> dict[str, Any]:
        zipped = io.BytesIO()
        self.model.save(zipped)
        state: dict[str, Any] = {
            "model.zip": zipped.getvalue(),
            "counters": {"env_steps": self.env_steps},
        }
        if self.venv is not self.vec:
            state["vec_normalize"] = {
                "obs": _rms_state(self.venv.obs_rms),
                "ret": _rms_state(self.venv.ret_rms),
            }
        buffer = getattr(self.model, "replay_buffer", None)
        if buffer is not None:
            filled = buffer.buffer_size if buffer.full else buffer.pos
            arrays = (
                "observations", "next_observations", "actions", "rewards", "dones", "timeouts",
            )  # fmt: skip
            state["replay_buffer"] = {
                "pos": buffer.pos,
                "full": buffer.full,
                **{
                    k: torch.from_numpy(getattr(buffer, k)[:filled].copy())
                    for k in arrays
                    if getattr(buffer, k) is not None  # next_observations with memory saving
                },
            }
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        from stable_baselines3.common.logger import Logger

        self.model = self.cls.load(
            io.BytesIO(state["model.zip"]), env=self.venv, device=self.device
        )
        self.model.set_logger(Logger(folder=None, output_formats=[]))
        self.model._last_obs = None  # reset (and reseed) the env at the next `learn`
        if "vec_normalize" in state:
            _load_rms(self.venv.obs_rms, state["vec_normalize"]["obs"])
            _load_rms(self.venv.ret_rms, state["vec_normalize"]["ret"])
        if "replay_buffer" in state:
            saved, buffer = state["replay_buffer"], self.model.replay_buffer
            for key, value in saved.items():
                if isinstance(value, Tensor):
                    getattr(buffer, key)[: len(value)] = value.numpy()
            buffer.pos, buffer.full = int(saved["pos"]), bool(saved["full"])


def _rms_state(rms: Any) -> dict[str, Tensor | float]:
    return {
        "mean": torch.from_numpy(np.asarray(rms.mean, dtype=np.float64)),
        "var": torch.from_numpy(np.asarray(rms.var, dtype=np.float64)),
        "count": float(rms.count),
    }


def _load_rms(rms: Any, state: dict[str, Any]) -> None:
    rms.mean = state["mean"].numpy().reshape(np.shape(rms.mean))
    rms.var = state["var"].numpy().reshape(np.shape(rms.var))
    rms.count = float(state["count"])


ON_POLICY_SPACES = (spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary, spaces.Box)


class SB3PPO(SB3Agent):
    """Stable-Baselines3 PPO (defaults: the RL Zoo's tuned values)."""

    config_class = SB3PPOConfig
    algorithm = "PPO"
    action_spaces = ON_POLICY_SPACES
    rlbox_keys = (*SB3Agent.rlbox_keys, "clip_range_schedule")

    def kwargs(self) -> dict[str, Any]:
        from stable_baselines3.common.utils import LinearSchedule

        c: SB3PPOConfig = self.config
        values = super().kwargs()
        if c.clip_range_schedule == "linear":
            values["clip_range"] = LinearSchedule(c.clip_range, 0.0, 1.0)
        values["clip_range_vf"] = c.clip_range_vf or None
        values["target_kl"] = c.target_kl or None
        return values


class SB3A2C(SB3Agent):
    """Stable-Baselines3 A2C (defaults: the RL Zoo's tuned values)."""

    config_class = SB3A2CConfig
    algorithm = "A2C"
    action_spaces = ON_POLICY_SPACES


class SB3DQN(SB3Agent):
    """Stable-Baselines3 DQN (defaults: the RL Zoo's tuned values)."""

    config_class = SB3DQNConfig
    algorithm = "DQN"
    action_spaces = (spaces.Discrete,)


class SB3SAC(SB3Agent):
    """Stable-Baselines3 SAC (defaults: the RL Zoo's tuned values)."""

    config_class = SB3SACConfig
    algorithm = "SAC"
    action_spaces = (spaces.Box,)

    def kwargs(self) -> dict[str, Any]:
        values = super().kwargs()
        for key in ("ent_coef", "target_entropy"):
            if not values[key].startswith("auto"):
                values[key] = float(values[key])
        return values


class SB3TD3(SB3Agent):
    """Stable-Baselines3 TD3 (defaults: the RL Zoo's tuned values)."""

    config_class = SB3TD3Config
    algorithm = "TD3"
    action_spaces = (spaces.Box,)
    rlbox_keys = (*SB3Agent.rlbox_keys, "action_noise_std")

    def kwargs(self) -> dict[str, Any]:
        from stable_baselines3.common.noise import NormalActionNoise

        values = super().kwargs()
        dim = int(np.prod(self.vec.action_space.shape))
        std = self.config.action_noise_std
        if std > 0:
            values["action_noise"] = NormalActionNoise(np.zeros(dim), np.full(dim, std))
        return values


class SB3DDPG(SB3TD3):
    """Stable-Baselines3 DDPG (defaults: the RL Zoo's tuned values)."""

    config_class = SB3DDPGConfig
    algorithm = "DDPG"
