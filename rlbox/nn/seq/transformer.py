"""A transformer encoder over a window of the last K observations (Vaswani et al., 2017,
"Attention Is All You Need"), with the layer norms before each block (pre-norm: Xiong et al.,
2020, "On Layer Normalization in the Transformer Architecture"), which trains without the
learning-rate warm-up the post-norm original needs.

    x_t = W_e o_t + b_e + p_t                  t = 1..K, oldest first; p: learned positions
    repeat depth times:
        x = x + MultiHeadAttention(LN(x))      every position attends to every position
        x = x + W_2 ReLU(W_1 LN(x) + b_1) + b_2
    features = LN(x_K)                         the newest position's output

The features are the newest position's output rather than a mean over positions: its query is
the current observation, the one the action is chosen for, and attention gathers from the older
ones what it needs; a mean would weigh the zero padding of an episode's first steps and stale
observations as much as the present one. No causal mask: the whole window lies in the past of
the action, so no position sees anything the agent lacks when acting; a mask matters where each
position's output is trained on its own target (a language model), and only the newest is read.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from gymnasium import spaces
from torch import Tensor, nn

from rlbox.errors import ConfigError
from rlbox.nn.cnn.blocks import pixel_scale
from rlbox.nn.seq import WINDOW_HELP, window_refusal


@dataclass(frozen=True)
class TransformerOptions:
    dim: int = field(default=64, metadata={"help": "Width of each position's embedding."})
    depth: int = field(default=2, metadata={"help": "Encoder layers."})
    heads: int = field(default=4, metadata={"help": "Attention heads; must divide dim."})
    ff_multiplier: int = field(
        default=4, metadata={"help": "Hidden width of each feed-forward block, times dim."}
    )
    dropout: float = field(
        default=0.0, metadata={"help": "Dropout in attention and feed-forward blocks."}
    )
    window: int = field(default=8, metadata={"help": WINDOW_HELP})

    def __post_init__(self) -> None:
        for name in ("dim", "depth", "heads", "ff_multiplier", "window"):
            if getattr(self, name) < 1:
                raise ConfigError(
                    f"invalid value for {name!r}: must be >= 1, got {getattr(self, name)}"
                )
        if self.dim % self.heads:
            raise ConfigError(
                f"invalid value for 'heads': must divide dim {self.dim}, got {self.heads}"
            )
        if not 0.0 <= self.dropout < 1.0:
            raise ConfigError(f"invalid value for 'dropout': must be in [0, 1), got {self.dropout}")


class Transformer(nn.Module):
    """A pre-norm transformer encoder over the window; features: the newest position's output."""

    Options = TransformerOptions
    reads = "windows of observations (Box K x D; each step flattened)"
    window_option = "window"
    parameter_budget = 101_000  # 100,928 with the defaults on Box(8, 4)

    @staticmethod
    def refuses(observation_space: spaces.Space) -> str | None:
        return window_refusal(observation_space)

    def __init__(self, observation_space: spaces.Space, options: TransformerOptions) -> None:
        super().__init__()
        length, *step_shape = observation_space.shape
        self.scale = pixel_scale(observation_space)
        self.embed = nn.Linear(math.prod(step_shape), options.dim)
        self.position = nn.Parameter(torch.zeros(1, length, options.dim))
        nn.init.trunc_normal_(self.position, std=0.02)  # as GPT-2 and ViT
        layer = nn.TransformerEncoderLayer(
            options.dim,
            options.heads,
            dim_feedforward=options.ff_multiplier * options.dim,
            dropout=options.dropout,
            batch_first=True,
            norm_first=True,
        )
        self.encoder = nn.TransformerEncoder(layer, options.depth, enable_nested_tensor=False)
        # Pre-norm leaves the residual stream unnormalised: one LayerNorm closes it.
        self.norm = nn.LayerNorm(options.dim)
        self.features_dim = options.dim

    def forward(self, obs: Tensor) -> Tensor:
        x = self.embed(obs.float().flatten(2) * self.scale) + self.position  # [B, K, dim]
        return self.norm(self.encoder(x)[:, -1])
