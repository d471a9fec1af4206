"""The sb3-* agents' configs: SB3's constructor argument names and defaults, with rlbox's
step accounting (`train_freq` in env steps summed over the vector's copies)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from rlbox.config.fields import check, param


@dataclass(frozen=True)
class SB3Config:
    learning_rate: float = param(3e-4, "Learning rate.")
    lr_schedule: Literal["constant", "linear"] = param(
        "constant",
        "'linear' decays the learning rate to 0 over the schedule horizon (RL Zoo's lin_).",
    )
    gamma: float = param(0.99, "Discount factor.")
    net_arch: tuple[int, ...] = param(
        (64, 64), "Layers after the features (policy_kwargs.net_arch); none on a --backbone."
    )
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
        "constant", "'linear' decays clip_range to 0 over the schedule horizon."
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
    rms_prop_tf_like: bool = param(
        False,
        "TensorFlow's RMSprop (eps inside the square root, averages starting at 1), as SB2 and "
        "the RL Zoo's Atari A2C use: policy_kwargs.optimizer_class=RMSpropTFLike.",
    )
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
    """Step counts are env steps summed over the vector's copies, as everywhere in rlbox.

    SB3 (2.x, common/off_policy_algorithm.py) counts `train_freq` in calls of `env.step`, i.e.
    per copy (`collect_rollouts`: `num_collected_steps += 1` per vector step), so the adapter
    passes it `train_freq // num_envs` and refuses a `train_freq` that `num_envs` does not
    divide. `learning_starts` SB3 already compares with `num_timesteps`, which grows by
    `num_envs` per vector step (summed), and so does sb3-dqn's `target_update_interval`
    (dqn.py `_on_step`: every `max(target_update_interval // n_envs, 1)` vector steps).
    """

    buffer_size: int = param(1_000_000, "Replay buffer capacity (transitions).")
    learning_starts: int = param(
        100, "Env steps (summed over copies) of random actions before learning starts."
    )
    batch_size: int = param(256, "Minibatch size.")
    tau: float = param(0.005, "Polyak coefficient of the target networks.")
    train_freq: int = param(
        1, "Env steps summed over copies between rounds of gradient steps (a multiple of num_envs)."
    )
    gradient_steps: int = param(
        1, "Gradient steps per round (-1: as many as the round's env steps)."
    )
    activation: Literal["tanh", "relu"] = param("relu", "Hidden activation (activation_fn).")

    def __post_init__(self) -> None:
        super().__post_init__()
        check(self.buffer_size >= 1, "buffer_size", "must be >= 1")
        check(self.batch_size >= 1, "batch_size", f"must be >= 1, got {self.batch_size}")
        check(
            self.batch_size <= self.buffer_size, "batch_size",
            f"{self.batch_size} exceeds buffer_size {self.buffer_size}",
        )  # fmt: skip
        check(self.train_freq >= 1, "train_freq", f"must be >= 1, got {self.train_freq}")
        check(0.0 < self.tau <= 1.0, "tau", f"must be in (0, 1], got {self.tau}")


@dataclass(frozen=True)
class SB3DQNConfig(SB3OffPolicyConfig):
    learning_rate: float = param(1e-4, "Learning rate.")
    batch_size: int = param(32, "Minibatch size.")
    tau: float = param(1.0, "Polyak coefficient of the target network (1: hard copy).")
    train_freq: int = param(
        4, "Env steps summed over copies between rounds of gradient steps (a multiple of num_envs)."
    )
    target_update_interval: int = param(
        10_000,
        "Env steps summed over copies between target updates (SB3 rounds it down to whole "
        "vector steps).",
    )
    exploration_fraction: float = param(
        0.1, "Fraction of the schedule horizon epsilon decays over, then held."
    )
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
    net_arch: tuple[int, ...] = param(
        (256, 256), "Layers after the features (policy_kwargs.net_arch); none on a --backbone."
    )
    log_std_init: float = param(-3.0, "Initial log-std of the Gaussian policy.")

    def __post_init__(self) -> None:
        super().__post_init__()
        for key in ("ent_coef", "target_entropy"):
            value = getattr(self, key)
            check(_auto_or_number(value), key, f"must be a number or 'auto...', not {value!r}")


@dataclass(frozen=True)
class SB3TD3Config(SB3OffPolicyConfig):
    learning_rate: float = param(1e-3, "Learning rate.")
    net_arch: tuple[int, ...] = param(
        (400, 300), "Layers after the features (policy_kwargs.net_arch); none on a --backbone."
    )
    action_noise: Literal["normal", "ou"] = param(
        "normal", "Exploration noise: Gaussian, or Ornstein-Uhlenbeck (the Zoo's noise_type)."
    )
    action_noise_std: float = param(0.1, "Std of the exploration noise, in action units.")
    policy_delay: int = param(2, "Critic updates per actor update.")
    target_policy_noise: float = param(0.2, "Std of the target policy smoothing noise.")
    target_noise_clip: float = param(0.5, "Clip of the target policy smoothing noise.")


@dataclass(frozen=True)
class SB3DDPGConfig(SB3OffPolicyConfig):
    learning_rate: float = param(1e-3, "Learning rate.")
    net_arch: tuple[int, ...] = param(
        (400, 300), "Layers after the features (policy_kwargs.net_arch); none on a --backbone."
    )
    action_noise: Literal["normal", "ou"] = param(
        "normal", "Exploration noise: Gaussian, or Ornstein-Uhlenbeck (the Zoo's noise_type)."
    )
    action_noise_std: float = param(0.1, "Std of the exploration noise, in action units.")


def _auto_or_number(value: str) -> bool:
    if value.startswith("auto"):
        return True
    try:
        float(value)
    except ValueError:
        return False
    return True
