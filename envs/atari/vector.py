"""Atari training envs: ale-py's C++ vector env (`AtariVectorEnv`, one thread pool steps all
copies, frames preprocessed in C++) as a `VectorEnv` of torch tensors.

ale-py does the frame skip, max-pooling, no-op starts, fire reset, resizing, grayscale and
stacking. rlbox does the two training-only transforms itself, from the raw reward and the lives
counter, so that the true game score is known while the agent learns from the transformed
signal: reward clipping (the sign of the reward) and episodic life (a lost life terminates the
learning episode while the game goes on; ale-py's own `episodic_life` restarts the game). The
episode statistics (`Step.episode_return`, `Step.scored_end`) are those of whole games.
"""

from __future__ import annotations

import numpy as np
import torch
from ale_py.vector_env import AtariVectorEnv as ALEVectorEnv
from gymnasium.vector import AutoresetMode
from torch import Tensor

from rlbox.envs.atari.options import AtariOptions
from rlbox.envs.base import AUTORESET_MODE, EpisodeTracker, Step


def ale_vector_env(game: str, num_envs: int, options: AtariOptions) -> ALEVectorEnv:
    """ale-py's vector env with every option set (its defaults differ from the gymnasium entry
    point's: sticky actions 0, reward clipping on); rewards and lives are left raw."""
    return ALEVectorEnv(
        game,
        num_envs,
        num_threads=options.num_threads,
        max_num_frames_per_episode=options.max_episode_frames,
        repeat_action_probability=options.repeat_action_probability,
        full_action_space=options.full_action_space,
        autoreset_mode=AutoresetMode.SAME_STEP,
        img_height=options.frame_size,
        img_width=options.frame_size,
        grayscale=options.grayscale,
        stack_num=options.stack,
        frameskip=options.frame_skip,
        maxpool=options.max_pool,
        noop_max=options.noop_max,
        use_fire_reset=options.fire_reset,
        episodic_life=False,
        life_loss_info=False,
        reward_clipping=False,
    )


class AtariVectorEnv:
    """`num_envs` copies of one Atari game; observations uint8 [N, stack, size, size]."""

    autoreset_mode = AUTORESET_MODE

    def __init__(
        self,
        env_id: str,
        game: str,
        num_envs: int,
        options: AtariOptions,
        device: torch.device | str = "cpu",
    ) -> None:
        self.env_id = env_id
        self.num_envs = num_envs
        self.device = torch.device(device)
        self.options = options
        self.ale = ale_vector_env(game, num_envs, options)
        self.single_observation_space = self.ale.single_observation_space
        self.single_action_space = self.ale.single_action_space
        self._lives = np.zeros(num_envs, dtype=np.int64)
        self._games = EpisodeTracker(num_envs, self.device)

    def reset(self, seed: int | None = None) -> Tensor:
        """Start a new game in every copy; copy i is seeded `seed + i`."""
        obs, info = self.ale.reset(seed=seed)
        self._lives = info["lives"].astype(np.int64)
        self._games.reset()
        return torch.as_tensor(obs, device=self.device)

    def step(self, actions: Tensor) -> Step:
        obs, reward, game_over, truncated, info = self.ale.step(
            actions.detach().cpu().numpy().astype(np.int64)
        )
        lives = info["lives"].astype(np.int64)
        terminated = game_over
        if self.options.episodic_life:
            # A copy whose game went on with fewer lives lost one; where the game ended, the
            # lives are those of the new game (same-step autoreset).
            terminated = game_over | (~game_over & ~truncated & (lives < self._lives))
        self._lives = lives
        done = terminated | truncated
        final_obs = obs
        if game_over.any() or truncated.any():
            final_obs = obs.copy()
            ended = game_over | truncated
            final_obs[ended] = info["final_obs"][ended]
        game_end = torch.as_tensor(game_over | truncated, device=self.device)
        raw = torch.as_tensor(reward, dtype=torch.float32, device=self.device)
        score, length = self._games.update(raw, game_end)
        learned = torch.sign(raw) if self.options.reward_clipping else raw
        return Step(
            obs=torch.as_tensor(obs, device=self.device),
            reward=learned,
            terminated=torch.as_tensor(terminated, device=self.device),
            truncated=torch.as_tensor(truncated, device=self.device),
            done=torch.as_tensor(done, device=self.device),
            final_obs=torch.as_tensor(final_obs, device=self.device),
            episode_return=score,
            episode_length=length,
            scored_end=game_end,
        )

    def close(self) -> None:
        self.ale.close()
