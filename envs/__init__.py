"""Making environments: any Gymnasium id as a torch vector env, the reference env, probes."""

from __future__ import annotations

import difflib

import gymnasium as gym
import torch

from rlbox.envs.base import EpisodeTracker, Step, VectorEnv
from rlbox.envs.probes import PROBES, register_probes
from rlbox.envs.wrappers import adapt_spaces
from rlbox.errors import RlboxError

register_probes()

__all__ = [
    "PROBES",
    "EpisodeTracker",
    "Step",
    "VectorEnv",
    "check_env_id",
    "make",
    "make_reference",
    "torch_env_ids",
    "tuned_env_ids",
]


def check_env_id(env_id: str) -> None:
    """Raise a one-line `RlboxError` if Gymnasium does not know `env_id`."""
    if env_id in gym.registry:
        return
    try:
        gym.spec(env_id)
    except gym.error.Error as error:
        close = difflib.get_close_matches(env_id, list(gym.registry), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise RlboxError(
            f"unknown environment {env_id!r}{hint}; `rlbox list` shows the known ids"
        ) from error


BACKENDS = ("gymnasium", "torch")


def make(
    env_id: str,
    num_envs: int = 1,
    seed: int = 0,
    device: str | torch.device = "cpu",
    backend: str = "gymnasium",
) -> VectorEnv:
    """A vector env of `num_envs` copies of `env_id` speaking torch tensors on `device`.

    backend "gymnasium" steps `gymnasium.make(env_id)` copies on the host, in the spaces of
    `make_reference` (`adapt_spaces`); "torch" steps rlbox's batched re-implementation on
    `device` (see `torch_env_ids()`). `seed` seeds the first reset.
    """
    from rlbox.envs.gymnasium_vector import GymnasiumVectorEnv
    from rlbox.envs.torch import TORCH_ENVS

    check_env_id(env_id)
    if backend == "torch":
        if env_id not in TORCH_ENVS:
            twins = ", ".join(torch_env_ids())
            raise RlboxError(f"{env_id} has no torch-native twin; envs that have one: {twins}")
        env = TORCH_ENVS[env_id](num_envs, device)
    elif backend == "gymnasium":
        env = GymnasiumVectorEnv(env_id, num_envs, device)
    else:
        raise RlboxError(f"unknown backend {backend!r}; known: {', '.join(BACKENDS)}")
    env.reset(seed=seed)
    return env


def torch_env_ids() -> list[str]:
    from rlbox.envs.torch import TORCH_ENVS

    return sorted(TORCH_ENVS)


def make_reference(env_id: str, **kwargs) -> gym.Env:
    """The env every agent is evaluated on: `gymnasium.make(env_id, **kwargs)` with the spaces
    agents see in training (`adapt_spaces`: one-hot discrete observations, actions from 0)."""
    check_env_id(env_id)
    return adapt_spaces(gym.make(env_id, **kwargs))
