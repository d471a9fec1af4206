"""Making environments: any Gymnasium id as a torch vector env for training (`make`), the same
env as one Gymnasium env for evaluation (`make_eval`), the probe envs and the POMDP envs.

Both see the env through the same space adapters (`wrappers.adapt_spaces`), and the same
history window where `history=K` asks for one (`wrappers.HistoryWindow`, for the sequence
backbones), and pass their other keyword options to `gymnasium.make`, so an agent is scored on
the env it trained on. Atari ids (`ALE/<Game>-v5`, `<Game>NoFrameskip-v4`) train on ale-py's
C++ vector env with the standard preprocessing and are evaluated on the same pipeline minus the
training-only transforms (reward clipping, episodic life) that would hide the true score
(envs/atari/).
"""

from __future__ import annotations

import difflib
import importlib
import importlib.util
from typing import Any

import gymnasium as gym
import torch
from gymnasium.envs.registration import EnvSpec, load_env_creator

from rlbox.envs.base import AUTORESET_MODE, EpisodeTracker, Step, VectorEnv, observation_dtype
from rlbox.envs.pomdp import register_pomdp
from rlbox.envs.probes import PROBES, register_probes
from rlbox.envs.wrappers import adapt_spaces, with_history
from rlbox.errors import MissingExtraError, RlboxError

register_probes()
register_pomdp()
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
        spec = gym.spec(name)
    except gym.error.Error as error:
        if _looks_atari(name) and importlib.util.find_spec("ale_py") is None:
            raise MissingExtraError("ale-py", "atari") from None
        close = difflib.get_close_matches(name, list(gym.registry), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise RlboxError(
            f"unknown environment {env_id!r}{hint}; `rlbox list` shows the known ids"
        ) from error
    if isinstance(spec.entry_point, str):
        # what gymnasium.make imports first: Box2D's and MuJoCo's envs need packages of their own
        try:
            load_env_creator(spec.entry_point)
        except gym.error.DependencyNotInstalled as error:
            if "Box2D" in str(error):
                raise MissingExtraError(
                    "Box2D", "box2d", "pip install swig 'rlbox[box2d]'"
                ) from None
            raise RlboxError(f"{env_id}: {' '.join(str(error).split())}") from None
    return spec


def make(
    env_id: str,
    num_envs: int = 1,
    seed: int = 0,
    device: str | torch.device = "cpu",
    backend: str = "gymnasium",
    history: int | None = None,
    **options: Any,
) -> VectorEnv:
    """A vector env of `num_envs` copies of `env_id` speaking torch tensors on `device`, for
    training.

    backend "gymnasium" steps `gymnasium.make(env_id, **options)` copies on the host, through
    `wrappers.adapt_spaces` (Atari ids: ale-py's vector env, options as in envs/atari/options);
    "torch" steps rlbox's batched re-implementation on `device` (see `torch_env_ids()`), which
    takes no options. `seed` seeds the first reset. `history=K` (backend "gymnasium", not Atari)
    makes each observation the window of the last K (`wrappers.HistoryWindow`); it is rlbox's
    option, never `gymnasium.make`'s.
    """
    from rlbox.envs.gymnasium_vector import GymnasiumVectorEnv
    from rlbox.envs.torch import TORCH_ENVS

    spec = check_env_id(env_id)
    history = _check_history(history, spec, backend)
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
        env = GymnasiumVectorEnv(env_id, num_envs, device, options, history)
    else:
        raise RlboxError(f"unknown backend {backend!r}; known: {', '.join(BACKENDS)}")
    env.reset(seed=seed)
    return env


def make_eval(env_id: str, history: int | None = None, **options: Any) -> gym.Env:
    """The env an agent is evaluated on: `gymnasium.make(env_id, **options)` in the spaces the
    agent trained on (`wrappers.adapt_spaces`: one-hot discrete observations,
    actions from 0; `history=K`: windows of the last K observations, as `make` gives them),
    without the training-only transforms, so its return is the true one."""
    spec = check_env_id(env_id)
    history = _check_history(history, spec, "gymnasium")
    if _is_atari(spec):
        from rlbox.envs.atari import make_atari_eval

        return make_atari_eval(spec, options)
    return with_history(adapt_spaces(gym.make(env_id, **options)), history)


def _check_history(history: Any, spec: EnvSpec, backend: str) -> int:
    """The window length `history` asks for (0: none), or a one-line `RlboxError` where there
    can be none: the torch backend keeps no window, and Atari ids stack frames already."""
    if history is None or history == 0:
        return 0
    if isinstance(history, bool) or not isinstance(history, int) or history < 0:
        raise RlboxError(f"invalid value for 'history': a window length >= 0, got {history!r}")
    if backend == "torch":
        raise RlboxError("history windows need the gymnasium backend; drop --backend torch")
    if _is_atari(spec):
        raise RlboxError(
            f"history windows are not for Atari frames ({spec.id}); "
            "its frames are stacked by the env option stack"
        )
    return history


def _is_atari(spec: EnvSpec) -> bool:
    return spec.entry_point == "ale_py.env:AtariEnv"


def _looks_atari(env_id: str) -> bool:
    return env_id.startswith("ALE/") or env_id.endswith("NoFrameskip-v4")


def torch_env_ids() -> list[str]:
    """The env ids with a torch-native twin (`make(..., backend="torch")`)."""
    from rlbox.envs.torch import TORCH_ENVS

    return sorted(TORCH_ENVS)
