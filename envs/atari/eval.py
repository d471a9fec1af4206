"""The Atari evaluation env: one game through the same C++ preprocessing as training, without
the training-only transforms (reward clipping, episodic life), as a Gymnasium env.

Evaluating on the same ale-py pipeline, rather than on Gymnasium's Python wrappers, means the
agent is scored on exactly the pixels it learned from; its return is the true game score and
an episode is a whole game (or the `max_episode_frames` cut).
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np

from rlbox.envs.atari.options import AtariOptions
from rlbox.envs.atari.vector import ale_vector_env


class AtariEvalEnv(gym.Env):
    """One copy of ale-py's vector env as a `gymnasium.Env`. `render()` gives the newest
    preprocessed frame as RGB: what the agent saw, scaled to the frame size."""

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["rgb_array"], "render_fps": 15}

    def __init__(self, game: str, options: AtariOptions, render_mode: str | None = None) -> None:
        self.ale = ale_vector_env(game, 1, options)
        self.observation_space = self.ale.single_observation_space
        self.action_space = self.ale.single_action_space
        self.render_mode = render_mode
        self._obs: np.ndarray | None = None

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[np.ndarray, dict[str, Any]]:
        super().reset(seed=seed)
        obs, info = self.ale.reset(seed=seed)
        self._obs = obs[0]
        return self._obs, {"lives": int(info["lives"][0])}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict[str, Any]]:
        obs, reward, terminated, truncated, info = self.ale.step(np.array([action], np.int64))
        # Same-step autoreset: after the game's last step ale-py has started the next one.
        self._obs = info["final_obs"][0] if terminated[0] or truncated[0] else obs[0]
        return (self._obs, float(reward[0]), bool(terminated[0]), bool(truncated[0]),
                {"lives": int(info["lives"][0])})  # fmt: skip

    def render(self) -> np.ndarray | None:
        if self._obs is None:
            return None
        frame = self._obs[-1]
        return np.repeat(frame[..., None], 3, axis=-1) if frame.ndim == 2 else frame

    def close(self) -> None:
        self.ale.close()
