"""Partially observed versions of classic control envs: tasks that need memory.

| id                       | what it hides                                  | steps | solved at |
|--------------------------|------------------------------------------------|-------|-----------|
| rlbox/CartPoleNoVel-v1   | CartPole-v1's velocities: observes [x, theta]  | 500   | 475       |

A memoryless policy sees where the cart and the pole are but not where they are going; one
that reads a window of the last observations (`history=K` and a sequence backbone) or carries
a recurrent state can recover the velocities as differences. RL Zoo benchmarks RecurrentPPO on
its CartPoleNoVel-v1 (rl_zoo3/wrappers.py, MaskVelocityWrapper), which zeroes the two
velocities and keeps four entries; this one drops them: the same information, the same
dynamics, rewards and limits, so the scores compare.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces
from gymnasium.envs.classic_control.cartpole import CartPoleEnv

POSITIONS = [0, 2]  # of CartPole's [x, x_dot, theta, theta_dot]


class CartPoleNoVel(CartPoleEnv):
    """CartPole-v1 observing only the cart position and the pole angle; renders as CartPole."""

    def __init__(self, sutton_barto_reward: bool = False, render_mode: str | None = None) -> None:
        super().__init__(sutton_barto_reward=sutton_barto_reward, render_mode=render_mode)
        full = self.observation_space
        self.observation_space = spaces.Box(
            full.low[POSITIONS], full.high[POSITIONS], dtype=np.float32
        )

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        obs, info = super().reset(seed=seed, options=options)
        return obs[POSITIONS], info

    def step(self, action: Any):
        obs, reward, terminated, truncated, info = super().step(action)
        return obs[POSITIONS], reward, terminated, truncated, info


POMDP_ENVS = {"rlbox/CartPoleNoVel-v1": CartPoleNoVel}
LIMITS = {"rlbox/CartPoleNoVel-v1": (500, 475.0)}  # max_episode_steps, reward_threshold


def register_pomdp() -> None:
    for env_id, cls in POMDP_ENVS.items():
        if env_id not in gym.registry:
            steps, threshold = LIMITS[env_id]
            gym.register(
                env_id,
                entry_point=f"{__name__}:{cls.__name__}",
                max_episode_steps=steps,
                reward_threshold=threshold,
            )
