"""Atari ids and the preprocessing options of the DQN paper (Mnih et al., 2015; Machado et al.,
2018 for sticky actions), each set explicitly and recorded in the run's config (`env.*` keys).

| option                      | default   | what it does                                       |
|-----------------------------|-----------|----------------------------------------------------|
| frame_skip                  | 4         | repeat each action; max-pool the last two frames   |
| max_pool                    | true      | that max-pooling (removes sprite flicker)          |
| noop_max                    | 30        | up to this many no-ops at each reset               |
| fire_reset                  | true      | press FIRE at reset in games that need it          |
| frame_size                  | 84        | frames resized to frame_size x frame_size          |
| grayscale                   | true      | luminance only                                     |
| stack                       | 4         | observation = the last `stack` frames              |
| episodic_life               | true      | training only: a lost life ends the learning       |
|                             |           | episode (the game goes on)                         |
| reward_clipping             | true      | training only: rewards become their sign           |
| max_episode_frames          | 108000    | cut an episode after 30 minutes of play            |
| repeat_action_probability   | by id     | sticky actions: 0.25 for ALE/*-v5, 0 for v4 ids    |
| full_action_space           | false     | all 18 actions instead of the game's minimal set   |
| num_threads                 | 0         | ALE's C++ threads for the training envs (0: auto)  |

Evaluation (`make_eval`) uses every option but the two training-only ones, so the reported
score is the true game score of whole games.
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass
from typing import Any

import gymnasium as gym

from rlbox.errors import RlboxError

ENTRY_POINT = "ale_py.env:AtariEnv"


@dataclass(frozen=True)
class AtariOptions:
    frame_skip: int = 4
    max_pool: bool = True
    noop_max: int = 30
    fire_reset: bool = True
    frame_size: int = 84
    grayscale: bool = True
    stack: int = 4
    episodic_life: bool = True
    reward_clipping: bool = True
    max_episode_frames: int = 108_000
    repeat_action_probability: float = 0.25
    full_action_space: bool = False
    num_threads: int = 0

    def __post_init__(self) -> None:
        for key in ("frame_skip", "stack", "max_episode_frames"):
            _check(getattr(self, key) >= 1, key, "must be >= 1")
        _check(self.frame_size >= 36, "frame_size", "must be >= 36 (the Nature CNN's least)")
        _check(self.noop_max >= 0, "noop_max", "must be >= 0")
        _check(self.num_threads >= 0, "num_threads", "must be >= 0 (0: as many as cores)")
        _check(0.0 <= self.repeat_action_probability <= 1.0, "repeat_action_probability",
               "must be in [0, 1]")  # fmt: skip


def _check(condition: bool, key: str, message: str) -> None:
    if not condition:
        raise RlboxError(f"env.{key}: {message}")


def is_atari(spec: gym.envs.registration.EnvSpec) -> bool:
    return spec.entry_point == ENTRY_POINT


def atari_options(spec: gym.envs.registration.EnvSpec, given: dict[str, Any]) -> AtariOptions:
    """The options of an Atari run: the defaults, sticky actions as the id defines them, then
    `given` (the run's `env.*` keys), each coerced and checked; a one-line error otherwise."""
    kwargs = spec.kwargs
    if kwargs.get("obs_type", "rgb") != "rgb":
        raise RlboxError(f"{spec.id}: rlbox trains Atari on pixels; RAM observations are not "
                         "supported")  # fmt: skip
    if kwargs.get("frameskip") not in (1, 4):
        raise RlboxError(
            f"{spec.id} skips a random number of frames; use ALE/<Game>-v5 (sticky actions) or "
            f"<Game>NoFrameskip-v4 (the ids of published results)"
        )
    fields = {f.name: f for f in dataclasses.fields(AtariOptions)}
    values: dict[str, Any] = {"repeat_action_probability": kwargs["repeat_action_probability"]}
    for key, value in given.items():
        if key not in fields:
            close = difflib.get_close_matches(key, list(fields), n=1)
            hint = f" (did you mean env.{close[0]}?)" if close else ""
            raise RlboxError(f"unknown Atari option env.{key}{hint}; options: {', '.join(fields)}")
        values[key] = _coerce(key, value, type(fields[key].default))
    return AtariOptions(**values)


def _coerce(key: str, value: Any, kind: type) -> Any:
    if kind is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
    elif kind is int and not isinstance(value, bool):
        if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
            return int(value)
    elif kind is float and not isinstance(value, bool) and isinstance(value, int | float):
        return float(value)
    raise RlboxError(f"env.{key}: expected {kind.__name__}, got {value!r}")


def game_of(spec: gym.envs.registration.EnvSpec) -> str:
    """ale_py's ROM name, e.g. "pong" for ALE/Pong-v5 and PongNoFrameskip-v4."""
    return spec.kwargs["game"]
