"""The backbone contract: `make_backbone(name, observation_space, **options)`.

A backbone maps a batch of observations to a batch of feature vectors and exposes their size as
`features_dim`; agents put their heads (Q-values, a policy, a value) on top of it. Each backbone
is a module class with

- `Options`: a frozen dataclass of its options, with a help text per field (`metadata["help"]`);
  config sections (`--set backbone.hidden_sizes=...`) are coerced to these fields' types;
- `reads`: the observations it reads, in words, and `refuses(observation_space) -> str | None`:
  why it cannot read a space (None: it can);
- `__init__(observation_space, options)`.

Backbones are registered by name as "module:Class" strings, so listing them imports nothing.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from torch import nn

from rlbox.errors import ConfigError, RlboxError
from rlbox.registry import Registry

BACKBONES: Registry[type[nn.Module]] = Registry("backbone")
BACKBONES.register("mlp", "rlbox.nn.mlp:MLP")
BACKBONES.register("nature_cnn", "rlbox.nn.cnn.nature:NatureCNN")


def options_class(name: str) -> type:
    """The `Options` dataclass of backbone `name` (an unknown name is a one-line error)."""
    return BACKBONES.get(name).Options


def make_backbone(name: str, observation_space: spaces.Space, **options: Any) -> nn.Module:
    """Backbone `name` built for `observation_space`, sized by one forward pass of a dummy batch.

    A space it cannot read, or an option it does not have, is a one-line error; the first lists
    the backbones that can read the space, the second the options it has.
    """
    cls = BACKBONES.get(name)
    why = cls.refuses(observation_space)
    if why is not None:
        fits = [n for n in BACKBONES if BACKBONES.get(n).refuses(observation_space) is None]
        raise RlboxError(
            f"backbone {name!r} cannot read observations {observation_space}: {why}; "
            f"backbones that can: {', '.join(fits) or 'none'}"
        )
    known = [f.name for f in dataclasses.fields(cls.Options)]
    unknown = sorted(set(options) - set(known))
    if unknown:
        raise ConfigError(
            f"backbone {name!r} has no option {unknown[0]!r}; its options: {', '.join(known)}"
        )
    module = cls(observation_space, cls.Options(**options))
    dummy = torch.zeros((1, *observation_space.shape), dtype=_torch_dtype(observation_space))
    with torch.no_grad():
        module.features_dim = int(module(dummy).shape[-1])
    return module


def _torch_dtype(space: spaces.Space) -> torch.dtype:
    return torch.from_numpy(np.empty(0, dtype=space.dtype)).dtype


@dataclass(frozen=True)
class BackboneSpec:
    """Which backbone an agent builds, and with which options: data, so that a run's config can
    hold it and an agent can build as many as it needs (an actor's and a critic's)."""

    name: str = "mlp"
    options: dict[str, Any] = field(default_factory=dict)

    def build(self, observation_space: spaces.Space) -> nn.Module:
        return make_backbone(self.name, observation_space, **self.options)
