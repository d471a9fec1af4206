"""Stable-Baselines3 algorithms behind rlbox's `Agent` interface: `sb3-ppo`, `sb3-a2c`,
`sb3-dqn`, `sb3-sac`, `sb3-td3`, `sb3-ddpg`.

SB3's algorithms run unchanged; what rlbox supplies is around them:

- the environment: rlbox's own vector env (the same seeds, truncation handling and episode
  statistics as the hand-written agents get), seen by SB3 as a `VecEnv`; on image observations
  (Atari) SB3's CnnPolicy, so both kinds of agent learn from the same preprocessed frames and
  clipped rewards and are scored by the same evaluation of whole games (`policy_for`);
- the step accounting: `learn(steps)` continues training (`reset_num_timesteps=False`) for
  exactly `steps` more env steps (whole vector steps), so comparisons use equal numbers of env
  steps; schedules run over the run's schedule horizon rather than over one `learn` call and
  hold their final values past it (`chunked`);
- step counts in rlbox's meaning: `train_freq` is in env steps summed over the vector's copies,
  as for rlbox's dqn and tfa-dqn, and converted to SB3's per-copy count (see
  `SB3OffPolicyConfig`);
- checkpoints: SB3's own `model.zip` (loadable with `PPO.load`), with the VecNormalize
  statistics and the replay buffer (under the top-level key "buffer", which the runner leaves
  out of `checkpoints/best/`) as tensors beside it, inside the run's checkpoint directory.

`--backbone NAME` makes SB3 build that rlbox backbone as its features extractor, with heads
straight on it as the own agents have (agents/sb3/extractor.py); without it SB3 builds its own
network. Config keys are SB3's constructor arguments and their defaults are SB3's; `net_arch`,
`activation`, `ortho_init` and `log_std_init` go to `policy_kwargs` (with CnnPolicy `net_arch`
is the layers after the CNN: the Atari sections set SB3's default, none), and `normalize_obs`
/ `normalize_reward` wrap the env in SB3's VecNormalize (the RL Zoo's `normalize: true`).
SB3 is imported only when one of these agents is built.
"""

from __future__ import annotations

import dataclasses
import io
from typing import Any, ClassVar

import numpy as np
import torch
from gymnasium import spaces
from torch import Tensor

from rlbox.agents.sb3.config import (
    SB3A2CConfig,
    SB3Config,
    SB3DDPGConfig,
    SB3DQNConfig,
    SB3OffPolicyConfig,
    SB3PPOConfig,
    SB3SACConfig,
    SB3TD3Config,
)
from rlbox.agents.sb3.extractor import extractor_kwargs
from rlbox.agents.sb3.vec_env import as_vec_env, chunked, import_sb3
from rlbox.envs.base import VectorEnv
from rlbox.errors import ConfigError
from rlbox.nn.backbone import BackboneSpec


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

    # SB3's own network, or an rlbox backbone as its features extractor where one is named
    optional_backbone: ClassVar[bool] = True

    def __init__(
        self,
        env: VectorEnv,
        config: SB3Config,
        *,
        device: torch.device,
        seed: int,
        horizon: int,
        backbone: BackboneSpec | None = None,
    ) -> None:
        sb3 = import_sb3()
        from stable_baselines3.common.logger import Logger
        from stable_baselines3.common.vec_env import VecNormalize

        if isinstance(config, SB3OffPolicyConfig):
            _check_off_policy(config, env.num_envs)
        self.config = config
        self.device = torch.device(device)
        self.seed = seed
        self.horizon = horizon
        self.backbone = backbone
        self.vec = as_vec_env(env)
        self.venv = self.vec
        if config.normalize_obs or config.normalize_reward:
            self.venv = VecNormalize(
                self.vec,
                norm_obs=config.normalize_obs,
                norm_reward=config.normalize_reward,
                gamma=config.gamma,
            )
        self.cls = chunked(getattr(sb3, self.algorithm), horizon)
        self.model = self.cls(
            policy_for(self.vec.observation_space), self.venv, seed=seed, device=self.device,
            verbose=0, **self.kwargs(),
        )  # fmt: skip
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
        if self.backbone is not None:
            policy_kwargs.update(extractor_kwargs(self.backbone))
        for key in self.rlbox_keys:
            values.pop(key)
        values["learning_rate"] = (
            LinearSchedule(c.learning_rate, 0.0, 1.0)
            if c.lr_schedule == "linear"
            else ConstantSchedule(c.learning_rate)
        )
        if isinstance(c, SB3OffPolicyConfig):
            values["train_freq"] = c.train_freq // self.vec.num_envs  # SB3 counts per copy
        return {**values, "policy_kwargs": policy_kwargs}

    def learn(self, steps: int) -> dict[str, float]:
        """Train for `steps` more env steps (whole vector steps), past the horizon too."""
        if self.model._last_obs is None:
            # A fresh start or a resume: reseed so that a resumed run draws new episodes.
            self.venv.seed(self.seed + self.env_steps)
        self.vec.finished.clear()
        # SB3's loop runs to `num_timesteps + steps`; `chunked` cuts its collection there.
        self.model.learn(steps, log_interval=None, reset_num_timesteps=False)
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
            # Views of the live arrays, as the own replays give, not copies: on Atari SB3's
            # buffer is 5.6 GB (1e5 transitions of obs and next obs), and the checkpoint writer
            # makes its own bytes of it.
            state["buffer"] = {
                "pos": buffer.pos,
                "full": buffer.full,
                **{
                    k: torch.from_numpy(getattr(buffer, k)[:filled])
                    for k in arrays
                    if getattr(buffer, k) is not None  # next_observations with memory saving
                },
            }
        return state

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore a `state_dict`; without "buffer" (e.g. `checkpoints/best/`) the replay
        buffer starts empty, which is enough to act and evaluate."""
        from stable_baselines3.common.logger import Logger

        self.model = self.cls.load(
            io.BytesIO(state["model.zip"]), env=self.venv, device=self.device
        )
        self.model.set_logger(Logger(folder=None, output_formats=[]))
        self.model._last_obs = None  # reset (and reseed) the env at the next `learn`
        if "vec_normalize" in state:
            _load_rms(self.venv.obs_rms, state["vec_normalize"]["obs"])
            _load_rms(self.venv.ret_rms, state["vec_normalize"]["ret"])
        saved = state.get("buffer", state.get("replay_buffer"))  # older runs: "replay_buffer"
        if saved is not None:
            buffer = self.model.replay_buffer
            for key, value in saved.items():
                if isinstance(value, Tensor):
                    getattr(buffer, key)[: len(value)] = value.numpy()
            buffer.pos, buffer.full = int(saved["pos"]), bool(saved["full"])


def policy_for(observation_space: spaces.Space) -> str:
    """SB3's CnnPolicy (its Nature CNN) for image observations, such as Atari's uint8 frame
    stacks [4, 84, 84], else MlpPolicy. rlbox's frames are channel-first already, so SB3 adds no
    VecTransposeImage, and its `normalize_images` (on by default) scales them by 1/255 in the
    network, as the own agents do: both see the same uint8 observations."""
    from stable_baselines3.common.preprocessing import is_image_space

    return "CnnPolicy" if is_image_space(observation_space) else "MlpPolicy"


def _check_off_policy(config: SB3OffPolicyConfig, num_envs: int) -> None:
    """What the config alone cannot check: its step counts against the vector's size."""
    if config.train_freq % num_envs:
        raise ConfigError(
            f"invalid value for 'train_freq': {config.train_freq} env steps (summed over "
            f"copies) is not a multiple of num_envs {num_envs}; SB3 trains after whole vector "
            f"steps, so use a multiple of {num_envs}"
        )
    if num_envs > config.buffer_size:
        raise ConfigError(
            f"invalid value for 'buffer_size': {config.buffer_size} holds less than one vector "
            f"step of num_envs {num_envs}"
        )


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
    rlbox_keys = (*SB3Agent.rlbox_keys, "rms_prop_tf_like")

    def kwargs(self) -> dict[str, Any]:
        values = super().kwargs()
        c: SB3A2CConfig = self.config
        if c.use_rms_prop and c.rms_prop_tf_like:
            # The RL Zoo's Atari A2C (a2c.yml `atari`): SB3's A2C then leaves its own
            # RMSprop out and keeps the eps given here.
            from stable_baselines3.common.sb2_compat.rmsprop_tf_like import RMSpropTFLike

            values["policy_kwargs"]["optimizer_class"] = RMSpropTFLike
            values["policy_kwargs"]["optimizer_kwargs"] = {"eps": c.rms_prop_eps}
        return values


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
    rlbox_keys = (*SB3Agent.rlbox_keys, "action_noise", "action_noise_std")

    def kwargs(self) -> dict[str, Any]:
        from stable_baselines3.common.noise import NormalActionNoise, OrnsteinUhlenbeckActionNoise

        values = super().kwargs()
        dim = int(np.prod(self.vec.action_space.shape))
        std = self.config.action_noise_std
        noise = (
            OrnsteinUhlenbeckActionNoise if self.config.action_noise == "ou" else NormalActionNoise
        )
        if std > 0:
            values["action_noise"] = noise(np.zeros(dim), np.full(dim, std))
        return values


class SB3DDPG(SB3TD3):
    """Stable-Baselines3 DDPG (defaults: the RL Zoo's tuned values)."""

    config_class = SB3DDPGConfig
    algorithm = "DDPG"
