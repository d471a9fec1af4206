"""Classic-control environments re-implemented as batched torch programs.

N copies of an env are one state tensor [N, d] on one device; a step is a handful of tensor
operations for all copies, so a rollout on the GPU never goes back to the host. The dynamics,
spaces, rewards, termination and time limits are Gymnasium's (the tests check them step by step
against `gymnasium.make`). The contract is `VectorEnv`'s, as for the Gymnasium adapter:
finished copies are reset in the same step, `final_obs` holds the observation the step led to.

The state is float64 by default, as Gymnasium's (observations are float32): in float32 a
Pendulum episode drifts by about 1e-4 (relative) from Gymnasium's over its 200 steps.
`dtype=torch.float32` trades that for speed.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from gymnasium import spaces
from torch import Tensor

from rlbox.envs.torch.base import TorchVectorEnv


class CartPole(TorchVectorEnv):
    """CartPole-v1 (Barto et al., 1983), Euler integration, reward 1 per step, 500 steps."""

    env_id = "CartPole-v1"
    max_episode_steps = 500
    state_dim = 4
    gravity, masscart, masspole, length, force_mag, tau = 9.8, 1.0, 0.1, 0.5, 10.0, 0.02
    total_mass = masspole + masscart
    polemass_length = masspole * length
    theta_threshold = 12 * 2 * math.pi / 360
    x_threshold = 2.4
    _high = np.array([x_threshold * 2, np.inf, theta_threshold * 2, np.inf], dtype=np.float32)
    single_observation_space = spaces.Box(-_high, _high, dtype=np.float32)
    single_action_space = spaces.Discrete(2)

    def __init__(self, num_envs: int, device: torch.device | str = "cpu", **kwargs) -> None:
        super().__init__(num_envs, device, **kwargs)
        like = {"device": self.device, "dtype": self.dtype}
        m, length, total = self.masspole, self.length, self.total_mass
        self._force_over_mass = torch.tensor([-self.force_mag, self.force_mag], **like) / total
        self._four_thirds_length = torch.full((num_envs,), length * 4.0 / 3.0, **like)
        self._mass_ratio_length = -length * m / total
        self._thresholds = torch.tensor([[self.x_threshold], [self.theta_threshold]], **like)
        self._accelerations = torch.empty(2, num_envs, **like)  # xacc, thetaacc
        self._ones = torch.ones(num_envs, **like)

    def initial_state(self, n: int) -> Tensor:
        return self.uniform(n, -0.05, 0.05)

    def dynamics(self, actions: Tensor) -> tuple[Tensor, Tensor]:
        # Gymnasium's formulas, regrouped so that each line is one fused tensor operation on
        # preallocated memory: at a few thousand copies a step costs what its operations count.
        theta, theta_dot = self.state[2], self.state[3]
        ml_over_total = self.polemass_length / self.total_mass
        costheta, sintheta = torch.cos(theta), torch.sin(theta)
        force_term = self._force_over_mass.index_select(0, actions)  # +-force_mag / total_mass
        temp = torch.addcmul(force_term, theta_dot.square(), sintheta, value=ml_over_total)
        numerator = torch.addcmul(sintheta.mul_(self.gravity), costheta, temp, value=-1.0)
        denominator = torch.addcmul(
            self._four_thirds_length, costheta, costheta, value=self._mass_ratio_length
        )
        xacc, thetaacc = self._accelerations
        torch.div(numerator, denominator, out=thetaacc)
        torch.addcmul(temp, thetaacc, costheta, value=-ml_over_total, out=xacc)
        positions, velocities = self.state[0::2], self.state[1::2]  # (x, theta), their speeds
        positions.add_(velocities, alpha=self.tau)  # Euler: positions move with the old speeds
        velocities.add_(self._accelerations, alpha=self.tau)
        beyond = torch.gt(positions.abs(), self._thresholds)
        return self._ones, beyond[0].logical_or_(beyond[1])

    def observe(self) -> Tensor:
        return self.state.T.to(torch.float32, copy=True)


class Pendulum(TorchVectorEnv):
    """Pendulum-v1: swing up and balance; reward -(angle^2 + 0.1 speed^2 + 0.001 torque^2)."""

    env_id = "Pendulum-v1"
    max_episode_steps = 200
    state_dim = 2
    max_speed, max_torque, dt, g, m, l = 8.0, 2.0, 0.05, 10.0, 1.0, 1.0  # noqa: E741
    single_observation_space = spaces.Box(
        -np.array([1.0, 1.0, max_speed], dtype=np.float32),
        np.array([1.0, 1.0, max_speed], dtype=np.float32),
        dtype=np.float32,
    )
    single_action_space = spaces.Box(-max_torque, max_torque, shape=(1,), dtype=np.float32)

    def initial_state(self, n: int) -> Tensor:
        high = torch.tensor([[math.pi], [1.0]], device=self.device, dtype=torch.float64)
        return self.uniform(n, -high, high)

    def dynamics(self, actions: Tensor) -> tuple[Tensor, Tensor]:
        th, thdot = self.state
        # Gymnasium computes the torque terms in the action's float32, then adds them to float64
        u = actions.reshape(self.num_envs).float().clamp(-self.max_torque, self.max_torque)
        angle = torch.remainder(th + math.pi, 2 * math.pi) - math.pi
        costs = angle.square() + 0.1 * thdot.square() + (0.001 * u.square()).to(self.dtype)
        g, m, l, dt = self.g, self.m, self.l, self.dt  # noqa: E741
        torque = (3.0 / (m * l**2) * u).to(self.dtype)
        newthdot = thdot + (3 * g / (2 * l) * torch.sin(th) + torque) * dt
        newthdot = newthdot.clamp(-self.max_speed, self.max_speed)
        self.state = torch.stack([th + newthdot * dt, newthdot])
        return -costs, torch.zeros_like(th, dtype=torch.bool)

    def observe(self) -> Tensor:
        th, thdot = self.state
        return torch.stack([torch.cos(th), torch.sin(th), thdot], dim=1).float()


class MountainCar(TorchVectorEnv):
    """MountainCar-v0: push left, none or right to drive an underpowered car up the hill."""

    env_id = "MountainCar-v0"
    max_episode_steps = 200
    state_dim = 2
    min_position, max_position, max_speed, goal_position = -1.2, 0.6, 0.07, 0.5
    force, gravity = 0.001, 0.0025
    single_observation_space = spaces.Box(
        np.array([min_position, -max_speed], dtype=np.float32),
        np.array([max_position, max_speed], dtype=np.float32),
        dtype=np.float32,
    )
    single_action_space = spaces.Discrete(3)

    def initial_state(self, n: int) -> Tensor:
        state = self.uniform(n, -0.6, -0.4)
        state[1] = 0.0
        return state

    def dynamics(self, actions: Tensor) -> tuple[Tensor, Tensor]:
        position, velocity = self.state
        push = (actions - 1).to(self.dtype) * self.force
        velocity.add_(push - self.gravity * torch.cos(3 * position))
        velocity.clamp_(-self.max_speed, self.max_speed)
        position.add_(velocity).clamp_(self.min_position, self.max_position)
        velocity.masked_fill_((position == self.min_position) & (velocity < 0), 0.0)
        terminated = (position >= self.goal_position) & (velocity >= 0)
        return torch.full_like(position, -1.0), terminated

    def observe(self) -> Tensor:
        return self.state.T.to(torch.float32, copy=True)


class MountainCarContinuous(MountainCar):
    """MountainCarContinuous-v0: a force in [-1, 1]; +100 at the goal, -0.1 action^2 a step.

    Gymnasium keeps this env's state in float32 and computes the hill's pull in float64 before
    rounding it; so does this one. Its penalty is on the action as given, before the clip to
    [-1, 1], so that an action beyond the bounds costs more and buys no more force.
    """

    env_id = "MountainCarContinuous-v0"
    max_episode_steps = 999
    goal_position, power = 0.45, 0.0015
    single_action_space = spaces.Box(-1.0, 1.0, shape=(1,), dtype=np.float32)

    def __init__(self, num_envs: int, device: torch.device | str = "cpu", **kwargs) -> None:
        super().__init__(num_envs, device, **{"dtype": torch.float32, **kwargs})

    def dynamics(self, actions: Tensor) -> tuple[Tensor, Tensor]:
        position, velocity = self.state
        action = actions.reshape(self.num_envs).float()
        force = action.clamp(-1.0, 1.0)
        pull = (0.0025 * torch.cos(3 * position.double())).to(self.dtype)
        velocity.add_(force * self.power - pull).clamp_(-self.max_speed, self.max_speed)
        position.add_(velocity).clamp_(self.min_position, self.max_position)
        velocity.masked_fill_((position == self.min_position) & (velocity < 0), 0.0)
        terminated = (position >= self.goal_position) & (velocity >= 0)
        reward = 100.0 * terminated - 0.1 * action.double().square()
        return reward, terminated


class Acrobot(TorchVectorEnv):
    """Acrobot-v1 (Sutton and Barto's book dynamics): swing the tip above the bar; -1 a step.

    One RK4 step of dt = 0.2 per action, as Gymnasium's `rk4` with its two time points.
    """

    env_id = "Acrobot-v1"
    max_episode_steps = 500
    state_dim = 4
    dt, g = 0.2, 9.8
    m1 = m2 = l1 = moi = 1.0
    lc1 = lc2 = 0.5
    max_vel_1, max_vel_2 = 4 * math.pi, 9 * math.pi
    _high = np.array([1.0, 1.0, 1.0, 1.0, max_vel_1, max_vel_2], dtype=np.float32)
    single_observation_space = spaces.Box(-_high, _high, dtype=np.float32)
    single_action_space = spaces.Discrete(3)

    def initial_state(self, n: int) -> Tensor:
        return self.uniform(n, -0.1, 0.1).float().to(self.dtype)  # Gymnasium rounds to float32

    def derivatives(self, y: Tensor, torque: Tensor) -> Tensor:
        theta1, theta2, dtheta1, dtheta2 = y
        m1, m2, l1, lc1, lc2, i1, i2, g = (self.m1, self.m2, self.l1, self.lc1, self.lc2,
                                           self.moi, self.moi, self.g)  # fmt: skip
        cos2, sin2 = torch.cos(theta2), torch.sin(theta2)
        d1 = m1 * lc1**2 + m2 * (l1**2 + lc2**2 + 2 * l1 * lc2 * cos2) + i1 + i2
        d2 = m2 * (lc2**2 + l1 * lc2 * cos2) + i2
        phi2 = m2 * lc2 * g * torch.cos(theta1 + theta2 - math.pi / 2.0)
        phi1 = (
            -m2 * l1 * lc2 * dtheta2.square() * sin2
            - 2 * m2 * l1 * lc2 * dtheta2 * dtheta1 * sin2
            + (m1 * lc1 + m2 * l1) * g * torch.cos(theta1 - math.pi / 2)
            + phi2
        )
        ddtheta2 = (torque + d2 / d1 * phi1 - m2 * l1 * lc2 * dtheta1.square() * sin2 - phi2) / (
            m2 * lc2**2 + i2 - d2.square() / d1
        )
        ddtheta1 = -(d2 * ddtheta2 + phi1) / d1
        return torch.stack([dtheta1, dtheta2, ddtheta1, ddtheta2])

    def dynamics(self, actions: Tensor) -> tuple[Tensor, Tensor]:
        torque = (actions - 1).to(self.dtype)  # AVAIL_TORQUE = [-1, 0, 1]
        y, dt = self.state, self.dt
        k1 = self.derivatives(y, torque)
        k2 = self.derivatives(y + dt / 2.0 * k1, torque)
        k3 = self.derivatives(y + dt / 2.0 * k2, torque)
        k4 = self.derivatives(y + dt * k3, torque)
        y = y + dt / 6.0 * (k1 + 2 * k2 + 2 * k3 + k4)
        angles = y[:2]
        angles.sub_(2 * math.pi * torch.ceil((angles - math.pi) / (2 * math.pi)).clamp_(min=0))
        angles.add_(2 * math.pi * torch.ceil((-math.pi - angles) / (2 * math.pi)).clamp_(min=0))
        y[2].clamp_(-self.max_vel_1, self.max_vel_1)
        y[3].clamp_(-self.max_vel_2, self.max_vel_2)
        self.state = y
        terminated = -torch.cos(y[0]) - torch.cos(y[1] + y[0]) > 1.0
        return torch.where(terminated, 0.0, -1.0).to(self.dtype), terminated

    def observe(self) -> Tensor:
        theta1, theta2, dtheta1, dtheta2 = self.state
        return torch.stack(
            [torch.cos(theta1), torch.sin(theta1), torch.cos(theta2), torch.sin(theta2),
             dtheta1, dtheta2], dim=1,
        ).float()  # fmt: skip
