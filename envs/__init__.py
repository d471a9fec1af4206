"""Making environments: any Gymnasium id as a torch vector env for training (`make`), the same
env as one Gymnasium env for evaluation (`make_eval`), and the probe envs.

Both see the env through the same space adapters (`wrappers.adapt_spaces`) and pass their
keyword options to `gymnasium.make`, so an agent is scored on the env it trained on. Atari ids
(`ALE/<Game>-v5`, `<Game>NoFrameskip-v4`) train on ale-py's C++ vector env with the standard
preprocessing and are evaluated on the same pipeline minus the training-only transforms
(reward clipping, episodic life) that would hide the true score (envs/atari/).
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
from typing import Any

import gymnasium as gym
import torch
from gymnasium.envs.registration import EnvSpec

from rlbox.envs.base import AUTORESET_MODE, EpisodeTracker, Step, VectorEnv, observation_dtype
from rlbox.envs.probes import PROBES, register_probes
from rlbox.envs.wrappers import adapt_spaces
from rlbox.errors import MissingExtraError, RlboxError

register_probes()
if importlib.util.find_spec("ale_py") is not None:  # the `atari` extra: registers ALE/* ids
    import ale_py

    gym.register_envs(ale_py)

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
        if _looks_atari(name) and importlib.util.find_spec("ale_py") is None:
            raise MissingExtraError("ale-py", "atari") from None
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
    `wrappers.adapt_spaces` (Atari ids: ale-py's vector env, options as in envs/atari/options);
    "torch" steps rlbox's batched re-implementation on `device` (see `torch_env_ids()`), which
    takes no options. `seed` seeds the first reset.
    """
    from rlbox.envs.gymnasium_vector import GymnasiumVectorEnv
    from rlbox.envs.torch import TORCH_ENVS

    spec = check_env_id(env_id)
    if backend == "gymnasium" and _is_atari(spec):
        from rlbox.envs.atari import make_atari

        env: VectorEnv = make_atari(spec, num_envs, device, options)
    elif backend == "torch":
        if env_id not in TORCH_ENVS:
            twins = ", ".join(torch_env_ids())
            raise RlboxError(f"{env_id} has no torch-native twin; envs that have one: {twins}")
        if options:
            given = ", ".join(sorted(options))
            raise RlboxError(f"the torch backend takes no env options (got {given}); "
                             "they go to gymnasium.make, with backend 'gymnasium'")  # fmt: skip
        env = TORCH_ENVS[env_id](num_envs, device)
    elif backend == "gymnasium":
        env = GymnasiumVectorEnv(env_id, num_envs, device, options)
    else:
        raise RlboxError(f"unknown backend {backend!r}; known: {', '.join(BACKENDS)}")
    env.reset(seed=seed)
    return env


def make_eval(env_id: str, **options: Any) -> gym.Env:
    """The env an agent is evaluated on: `gymnasium.make(env_id, **options)` in the spaces the
    agent trained on (`wrappers.adapt_spaces`: one-hot discrete observations,
    actions from 0), without the training-only transforms, so its return is the true one."""
    spec = check_env_id(env_id)
    if _is_atari(spec):
        from rlbox.envs.atari import make_atari_eval

        return make_atari_eval(spec, options)
    return adapt_spaces(gym.make(env_id, **options))


def _is_atari(spec: EnvSpec) -> bool:
    return spec.entry_point == "ale_py.env:AtariEnv"


def _looks_atari(env_id: str) -> bool:
    return env_id.startswith("ALE/") or env_id.endswith("NoFrameskip-v4")


def torch_env_ids() -> list[str]:
    """The env ids with a torch-native twin (`make(..., backend="torch")`)."""
    from rlbox.envs.torch import TORCH_ENVS

    return sorted(TORCH_ENVS)
