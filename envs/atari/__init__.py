"""Atari 2600 games through ale-py (the `atari` extra; the ROMs ship in its wheel): training
envs on ale-py's C++ vector env, the evaluation env on the same pipeline, and the options of
the standard preprocessing (`options.py`)."""

from __future__ import annotations

import dataclasses
from typing import Any

import torch
from gymnasium.envs.registration import EnvSpec

from rlbox.envs.atari.options import AtariOptions, atari_options, game_of, is_atari
from rlbox.errors import MissingExtraError

__all__ = ["AtariOptions", "is_atari", "make_atari", "make_atari_eval", "resolved_options"]


def resolved_options(spec: EnvSpec, given: dict[str, Any]) -> dict[str, Any]:
    """Every option of an Atari run, the given ones included: what its config records."""
    return dataclasses.asdict(atari_options(spec, given))


def make_atari(
    spec: EnvSpec, num_envs: int, device: torch.device | str, options: dict[str, Any]
) -> Any:
    from rlbox.envs.atari.vector import AtariVectorEnv

    settings = atari_options(spec, options)
    return AtariVectorEnv(spec.id, game_of(spec), num_envs, settings, device)


def make_atari_eval(spec: EnvSpec, options: dict[str, Any]) -> Any:
    from rlbox.envs.atari.eval import AtariEvalEnv

    options = dict(options)
    render_mode = options.pop("render_mode", None)
    settings = dataclasses.replace(
        atari_options(spec, options), episodic_life=False, reward_clipping=False, num_threads=1
    )
    return AtariEvalEnv(game_of(spec), settings, render_mode)


def check_ale() -> None:
    """A one-line error naming the install command where ale-py is missing."""
    import importlib.util

    if importlib.util.find_spec("ale_py") is None:
        raise MissingExtraError("ale-py", "atari")
