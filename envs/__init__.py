"""Making environments: any Gymnasium id as a torch vector env for training (`make`), the same
env as one Gymnasium env for evaluation (`make_eval`), and the probe envs.

Both go through one observation pipeline (`wrappers.pipeline`) and pass their keyword options
to `gymnasium.make`, so an agent is scored on the env it trained on, minus the training-only
transforms (reward clipping, episodic life) that would hide the true return.
"""

from __future__ import annotations

import difflib
import importlib
from typing import Any

import gymnasium as gym
import torch
from gymnasium.envs.registration import EnvSpec

from rlbox.envs.base import AUTORESET_MODE, EpisodeTracker, Step, VectorEnv, observation_dtype
from rlbox.envs.probes import PROBES, register_probes
from rlbox.envs.wrappers import pipeline
from rlbox.errors import RlboxError

register_probes()

__all__ = [
    "AUTORESET_MODE",
    "PROBES",
    "EpisodeTracker",
    "Step",
    "VectorEnv",
    "check_env_id",
    "make",
    "make_eval",
    "observation_dtype",
    "torch_env_ids",
]

BACKENDS = ("gymnasium", "torch")


def check_env_id(env_id: str) -> EnvSpec:
    """The spec of `env_id`, or a one-line `RlboxError` if Gymnasium does not know it.

    Takes every id `gymnasium.make` takes, `package.module:EnvName-v0` too: the module is
    imported first, as `gymnasium.make` does, so that it registers the env (`gym.spec` alone
    would call that id malformed).
    """
    module, _, name = env_id.rpartition(":")
    if module:
        try:
            importlib.import_module(module)
        except ImportError as error:
            raise RlboxError(
                f"{env_id}: cannot import {module!r}, the module that should register {name!r} "
                f"({' '.join(str(error).split())})"
            ) from None
    try:
        return gym.spec(name)
    except gym.error.Error as error:
        close = difflib.get_close_matches(name, list(gym.registry), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise RlboxError(
            f"unknown environment {env_id!r}{hint}; `rlbox list` shows the known ids"
        ) from error


def make(
    env_id: str,
    num_envs: int = 1,
    seed: int = 0,
    device: str | torch.device = "cpu",
    backend: str = "gymnasium",
    **options: Any,
) -> VectorEnv:
    """A vector env of `num_envs` copies of `env_id` speaking torch tensors on `device`, for
    training.

    backend "gymnasium" steps `gymnasium.make(env_id, **options)` copies on the host, through
    `wrappers.pipeline(env, training=True)`; "torch" steps rlbox's batched re-implementation on
    `device` (see `torch_env_ids()`), which takes no options. `seed` seeds the first reset.
    """
    from rlbox.envs.gymnasium_vector import GymnasiumVectorEnv
    from rlbox.envs.torch import TORCH_ENVS

    check_env_id(env_id)
    if backend == "torch":
        if env_id not in TORCH_ENVS:
            twins = ", ".join(torch_env_ids())
            raise RlboxError(f"{env_id} has no torch-native twin; envs that have one: {twins}")
        if options:
            given = ", ".join(sorted(options))
            raise RlboxError(f"the torch backend takes no env options (got {given}); "
                             "they go to gymnasium.make, with backend 'gymnasium'")  # fmt: skip
        env: VectorEnv = TORCH_ENVS[env_id](num_envs, device)
    elif backend == "gymnasium":
        env = GymnasiumVectorEnv(env_id, num_envs, device, options)
    else:
        raise RlboxError(f"unknown backend {backend!r}; known: {', '.join(BACKENDS)}")
    env.reset(seed=seed)
    return env


def make_eval(env_id: str, **options: Any) -> gym.Env:
    """The env an agent is evaluated on: `gymnasium.make(env_id, **options)` in the spaces the
    agent trained on (`wrappers.pipeline(env, training=False)`: one-hot discrete observations,
    actions from 0), without the training-only transforms, so its return is the true one."""
    check_env_id(env_id)
    return pipeline(gym.make(env_id, **options), training=False)


def torch_env_ids() -> list[str]:
    """The env ids with a torch-native twin (`make(..., backend="torch")`)."""
    from rlbox.envs.torch import TORCH_ENVS

    return sorted(TORCH_ENVS)
