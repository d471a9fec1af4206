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
from typing import Any, Literal

import numpy as np
import torch
from gymnasium import spaces
from torch import nn

from rlbox.errors import ConfigError, RlboxError
from rlbox.registry import Registry

BACKBONES: Registry[type[nn.Module]] = Registry("backbone")
BACKBONES.register("mlp", "rlbox.nn.mlp:MLP")
BACKBONES.register("flatten", "rlbox.nn.mlp:Flatten")
BACKBONES.register("nature_cnn", "rlbox.nn.cnn.nature:NatureCNN")
BACKBONES.register("impala_cnn", "rlbox.nn.cnn.impala:ImpalaCNN")
BACKBONES.register("lenet", "rlbox.nn.cnn.lenet:LeNet")
BACKBONES.register("alexnet", "rlbox.nn.cnn.alexnet:AlexNet")
BACKBONES.register("vgg", "rlbox.nn.cnn.vgg:VGG")
BACKBONES.register("nin", "rlbox.nn.cnn.nin:NiN")
BACKBONES.register("googlenet", "rlbox.nn.cnn.googlenet:GoogLeNet")
BACKBONES.register("resnet", "rlbox.nn.cnn.resnet:ResNet")
BACKBONES.register("densenet", "rlbox.nn.cnn.densenet:DenseNet")
BACKBONES.register("vit", "rlbox.nn.seq.vit:ViT")
BACKBONES.register("gru", "rlbox.nn.seq.recurrent:GRU")
BACKBONES.register("lstm", "rlbox.nn.seq.recurrent:LSTM")
BACKBONES.register("transformer", "rlbox.nn.seq.transformer:Transformer")


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
            f"backbone {name!r} cannot read observations {_describe(observation_space)}: {why}; "
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


def _describe(space: spaces.Space) -> str:
    """A space in a few words: a Box by its shape and dtype (its bounds can fill a screen)."""
    if isinstance(space, spaces.Box):
        return f"Box{space.shape} {space.dtype}"
    return str(space)


def _torch_dtype(space: spaces.Space) -> torch.dtype:
    return torch.from_numpy(np.empty(0, dtype=space.dtype)).dtype


@dataclass(frozen=True)
class BackboneUse:
    """How an agent uses its backbone, whichever it is: keys of the config's backbone section
    next to the backbone's own options."""

    augment: Literal["none", "shift"] = field(
        default="none",
        metadata={"help": "Augment image observations of training batches: 'shift' (DrQ)."},
    )
    init_from: str = field(
        default="",
        metadata={"help": "A run directory whose encoder this one starts from (same backbone)."},
    )
    freeze: bool = field(
        default=False, metadata={"help": "Keep the backbone's weights fixed (with init_from)."}
    )
    amp: Literal["none", "bf16"] = field(
        default="none",
        metadata={"help": "Run the backbone in bfloat16 autocast (heads and losses in float32)."},
    )
    compile: bool = field(
        default=False, metadata={"help": "torch.compile the backbone (slow to start on CPU)."}
    )

    def __post_init__(self) -> None:
        if self.augment not in ("none", "shift"):
            raise ConfigError(
                f"invalid value for 'augment': one of none, shift, got {self.augment!r}"
            )
        if self.amp not in ("none", "bf16"):
            raise ConfigError(f"invalid value for 'amp': one of none, bf16, got {self.amp!r}")

    @property
    def autocast(self) -> torch.dtype | None:
        """The dtype the backbone runs in under autocast; None: full precision."""
        return torch.bfloat16 if self.amp == "bf16" else None


USE_KEYS = tuple(f.name for f in dataclasses.fields(BackboneUse))


@dataclass(frozen=True)
class BackboneSpec:
    """Which backbone an agent builds, and with which options: data, so that a run's config can
    hold it and an agent can build as many as it needs (an actor's and a critic's). `use` says
    how the agent uses it (augmentation, transfer, freezing)."""

    name: str = "mlp"
    options: dict[str, Any] = field(default_factory=dict)
    use: BackboneUse = field(default_factory=BackboneUse)

    def build(self, observation_space: spaces.Space) -> nn.Module:
        """The backbone, frozen or compiled as `use` says (`Module.compile` keeps the names of
        its parameters, so checkpoints do not depend on it)."""
        module = make_backbone(self.name, observation_space, **self.options)
        if self.use.freeze:
            module.requires_grad_(False)
        if self.use.compile:
            module.compile()
        return module
