"""Evaluation on the evaluation env (`make_eval`), the same way for every agent.

Each of K episodes runs in its own copy of `make_eval(env_id, **env_options)` (`gymnasium.make`
with the run's env options, in the spaces the agent trained on), seeded `seed + i`, all stepped
together so the agent acts on one batch per step. Counting the first episode of every
copy (rather than the first K episodes to finish) avoids the bias towards short episodes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from torch import Tensor

from rlbox.envs import make_eval, observation_dtype


@dataclass(frozen=True)
class EvalResult:
    returns: np.ndarray
    lengths: np.ndarray

    @property
    def mean(self) -> float:
        return float(np.mean(self.returns))

    @property
    def std(self) -> float:
        return float(np.std(self.returns))


def evaluate(
    act: Callable[[Tensor], Tensor],
    env_id: str,
    episodes: int,
    seed: int,
    device: torch.device | str = "cpu",
    *,
    env_options: Mapping[str, Any] | None = None,
    on_frame: Callable[[int, np.ndarray], None] | None = None,
    render_copies: int | None = None,
    render_mode: str | None = None,
) -> EvalResult:
    """Play `episodes` episodes with `act` (a batch of observations -> a batch of actions) on
    `env_id` made with `env_options` (the run's `env.*` options, so the env it trained on).

    With `on_frame`, the envs render rgb_array frames and `on_frame(i, frame)` receives those of
    episode i (for the first `render_copies` episodes; all by default), from the reset to the
    last step. `render_mode="human"` shows the episodes in windows instead.
    """
    mode = "rgb_array" if on_frame is not None else render_mode
    if mode is not None:
        import rlbox.run.video  # noqa: F401  (sets pygame's environment before it is imported)
    options = {**(env_options or {}), **({"render_mode": mode} if mode else {})}
    envs = gym.vector.SyncVectorEnv([partial(make_eval, env_id, **options)] * episodes)
    obs_dtype = observation_dtype(envs.single_observation_space)
    rendered = range(min(render_copies or episodes, episodes)) if on_frame is not None else ()
    try:
        obs, _ = envs.reset(seed=[seed + i for i in range(episodes)])
        returns = np.zeros(episodes)
        lengths = np.zeros(episodes, dtype=np.int64)
        running = np.ones(episodes, dtype=bool)
        for i in rendered:
            on_frame(i, envs.envs[i].render())
        with torch.no_grad():
            while running.any():
                actions = act(torch.as_tensor(obs, dtype=obs_dtype, device=device)).cpu().numpy()
                obs, reward, terminated, truncated, _ = envs.step(actions)
                returns += reward * running
                lengths += running
                for i in rendered:
                    if running[i]:
                        on_frame(i, envs.envs[i].render())
                running &= ~(terminated | truncated)
    finally:
        envs.close()
    return EvalResult(returns, lengths)
