"""The environment as SB3 sees it: rlbox's VectorEnv as an SB3 `VecEnv`, and SB3's algorithms
cut to collect exactly the steps each `learn` call is given."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from rlbox.compat import tensorboard_without_tensorflow
from rlbox.envs.base import VectorEnv
from rlbox.errors import MissingExtraError


def import_sb3() -> Any:
    tensorboard_without_tensorflow()  # SB3's logger imports TensorBoard
    try:
        import stable_baselines3
    except ImportError:
        raise MissingExtraError("stable-baselines3", "sb3") from None
    return stable_baselines3


def as_vec_env(env: VectorEnv) -> Any:
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
                # Scored episodes (Atari: whole games, not lives) as SB3's Monitor reports them.
                scored = step.episode_end.cpu().numpy()
                for i in np.flatnonzero(done):
                    infos[i] = {
                        "terminal_observation": final_obs[i],
                        "TimeLimit.truncated": bool(truncated[i]),
                    }
                    if scored[i]:
                        infos[i]["episode"] = {"r": float(returns[i]), "l": int(lengths[i]),
                                               "t": 0.0}  # fmt: skip
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


def chunked(algorithm: type, horizon: int) -> type:
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
