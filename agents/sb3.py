"""Stable-Baselines3 algorithms behind rlbox's `Agent` interface: `sb3-ppo`, `sb3-a2c`,
`sb3-dqn`, `sb3-sac`, `sb3-td3`, `sb3-ddpg`.

SB3's algorithms run unchanged; what rlbox supplies is around them:

- the environment: rlbox's own vector env (the same seeds, truncation handling and episode
  statistics as the hand-written agents get), seen by SB3 as a `VecEnv`;
- the step accounting: `learn(steps)` continues training (`reset_num_timesteps=False`) for
  exactly `steps` more env steps (whole vector steps), so comparisons use equal numbers of env
  steps; schedules run over the run's schedule horizon rather than over one `learn` call and
  hold their final values past it (`_chunked`);
- step counts in rlbox's meaning: `train_freq` is in env steps summed over the vector's copies,
  as for rlbox's dqn and tfa-dqn, and converted to SB3's per-copy count (see
  `SB3OffPolicyConfig`);
- checkpoints: SB3's own `model.zip` (loadable with `PPO.load`), with the VecNormalize
  statistics and the replay buffer (under the top-level key "buffer", which the runner leaves
  out of `checkpoints/best/`) as tensors beside it, inside the run's checkpoint directory.

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
from rlbox.errors import ConfigError, MissingExtraError
from rlbox.logger import tensorboard_without_tensorflow

# --- configs: SB3's argument names and defaults ----------------------------------------------


@dataclass(frozen=True)
class SB3Config:
    learning_rate: float = param(3e-4, "Learning rate.")
    lr_schedule: Literal["constant", "linear"] = param(
        "constant",
        "'linear' decays the learning rate to 0 over the schedule horizon (RL Zoo's lin_).",
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


def _chunked(algorithm: type, horizon: int) -> type:
    """`algorithm` with rlbox's step accounting: the schedule horizon, and exact chunks.

    - Progress: SB3 measures its schedules' progress against the current `learn` call's total;
      rlbox calls `learn` once per logging chunk, so a linear schedule would restart in every
      chunk. Here progress runs over `horizon` and stays at 0 past it, so every schedule (the
      learning rate, PPO's clip range, DQN's epsilon) holds its final value after a resume to
      a larger budget.
    - Chunks: SB3 collects whole rollouts (`n_steps` per copy) or whole `train_freq` rounds, so
      a `learn(steps)` would overshoot to the next boundary. A callback that stops SB3 at the
      chunk's end would drop the last vector step, which SB3 has taken but not stored, and
      leave `_last_obs` behind the env. Instead each collection is cut at the chunk's end and
      the cut rollout or round continues in the next `learn` call; it is trained on when it is
      complete, as if there had been no chunks. SB3's own loop then stops at the chunk's total.
      Two differences remain: a cut rollout is not in the checkpoint (a resume starts a new
      one, as the tfa agents' rollouts do), and with gSDE each call draws new noise first.
    """
    from stable_baselines3.common.buffers import RolloutBuffer
    from stable_baselines3.common.off_policy_algorithm import OffPolicyAlgorithm
    from stable_baselines3.common.type_aliases import RolloutReturn, TrainFreq, TrainFrequencyUnit

    def progress_over_horizon(model: Any, num_timesteps: int, total_timesteps: int) -> None:
        model._current_progress_remaining = max(0.0, 1.0 - num_timesteps / horizon)

    def vector_steps_left(model: Any) -> int:
        """Vector steps to the end of the current `learn` call, the last one maybe partial."""
        return -(-(model._total_timesteps - model.num_timesteps) // model.n_envs)

    class RolloutAcrossChunks(RolloutBuffer):
        """SB3's rollout buffer, kept (not reset) while it holds a rollout a chunk cut."""

        def reset(self) -> None:
            if self.full or self.pos == 0:
                super().reset()

    class OnPolicy(algorithm):
        _update_current_progress_remaining = progress_over_horizon

        def _setup_model(self) -> None:
            if self.rollout_buffer_class is None:  # rlbox's envs have Box observations
                self.rollout_buffer_class = RolloutAcrossChunks
            super()._setup_model()

        def collect_rollouts(
            self, env: Any, callback: Any, rollout_buffer: Any, n_rollout_steps: int
        ) -> bool:
            begun = 0 if rollout_buffer.full else rollout_buffer.pos  # full: reset next
            todo = min(n_rollout_steps - begun, vector_steps_left(self))
            complete = super().collect_rollouts(env, callback, rollout_buffer, todo)
            return complete and rollout_buffer.full  # False: SB3 ends `learn` untrained

    class OffPolicy(algorithm):
        _update_current_progress_remaining = progress_over_horizon
        _round_steps = 0  # vector steps of the current train_freq round (saved in model.zip)

        def collect_rollouts(
            self, env: Any, callback: Any, train_freq: Any, replay_buffer: Any,
            action_noise: Any = None, learning_starts: int = 0, log_interval: int | None = None,
        ) -> Any:  # fmt: skip
            todo = min(train_freq.frequency - self._round_steps, vector_steps_left(self))
            part = super().collect_rollouts(
                env, callback, TrainFreq(todo, TrainFrequencyUnit.STEP), replay_buffer,
                action_noise, learning_starts, log_interval,
            )  # fmt: skip
            self._round_steps += part.episode_timesteps // env.num_envs
            if self._round_steps < train_freq.frequency:
                return part._replace(continue_training=False)  # no update: the round goes on
            self._round_steps = 0
            # `gradient_steps=-1` trains as many steps as the whole round's env steps
            return RolloutReturn(
                train_freq.frequency * env.num_envs, part.n_episodes, part.continue_training
            )

    chunked = OffPolicy if issubclass(algorithm, OffPolicyAlgorithm) else OnPolicy
    chunked.__name__ = chunked.__qualname__ = algorithm.__name__
    return chunked


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
        self, env: VectorEnv, config: SB3Config, *, device: torch.device, seed: int, horizon: int
    ) -> None:
        sb3 = _import_sb3()
        from stable_baselines3.common.logger import Logger
        from stable_baselines3.common.vec_env import VecNormalize

        if isinstance(config, SB3OffPolicyConfig):
            _check_off_policy(config, env.num_envs)
        self.config = config
        self.device = torch.device(device)
        self.seed = seed
        self.horizon = horizon
        self.vec = _vec_env(env)
        self.venv = self.vec
        if config.normalize_obs or config.normalize_reward:
            self.venv = VecNormalize(
                self.vec,
                norm_obs=config.normalize_obs,
                norm_reward=config.normalize_reward,
                gamma=config.gamma,
            )
        self.cls = _chunked(getattr(sb3, self.algorithm), horizon)
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
        if isinstance(c, SB3OffPolicyConfig):
            values["train_freq"] = c.train_freq // self.vec.num_envs  # SB3 counts per copy
        return {**values, "policy_kwargs": policy_kwargs}

    def learn(self, steps: int) -> dict[str, float]:
        """Train for `steps` more env steps (whole vector steps), past the horizon too."""
        if self.model._last_obs is None:
            # A fresh start or a resume: reseed so that a resumed run draws new episodes.
            self.venv.seed(self.seed + self.env_steps)
        self.vec.finished.clear()
        # SB3's loop runs to `num_timesteps + steps`; `_chunked` cuts its collection there.
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
            state["buffer"] = {
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
