"""Torch-native envs: batched torch programs that run on the network's device, twins of
Gymnasium's classic control (classic) and of the probe envs (probes), by env id."""

from rlbox.envs.torch.base import TorchVectorEnv
from rlbox.envs.torch.classic import Acrobot, CartPole, MountainCar, MountainCarContinuous, Pendulum
from rlbox.envs.torch.probes import (
    ActionObsReward,
    ActionReward,
    ConstantReward,
    ObsReward,
    TargetAction,
    Truncated,
    TwoStep,
)

TORCH_ENVS: dict[str, type[TorchVectorEnv]] = {
    env.env_id: env
    for env in (CartPole, Pendulum, MountainCar, MountainCarContinuous, Acrobot, ConstantReward,
                ObsReward, TwoStep, ActionReward, ActionObsReward, Truncated, TargetAction)
}  # fmt: skip
