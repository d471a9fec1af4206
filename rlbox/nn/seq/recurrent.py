"""Recurrent backbones over a window of the last K observations: GRU and LSTM.

The window comes from the env (`history=K`, envs' HistoryWindow), so the network runs its
recurrence from a zero state over the K observations at every call, and agents, buffers and
losses stay those of a memoryless policy: memory as long as the window, no hidden state to
store, reset or carry through minibatches (the cost: K steps of recurrence per observation).

    x_t = o_t flattened (bytes / 255)                 t = 1..K, oldest first
    x_t = ReLU(W_e x_t + b_e)                         if embed > 0
    h_t = cell(x_t, h_{t-1}), h_0 = 0                 `layers` stacked cells
    features = h_K  (bidirectional: [h_K, h'_1])      then ReLU(W_f . + b_f) if features > 0
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
class RecurrentOptions:
    hidden: int = field(default=64, metadata={"help": "Size of the recurrent state."})
    layers: int = field(default=1, metadata={"help": "Recurrent layers, stacked."})
    bidirectional: bool = field(
        default=False,
        metadata={"help": "Also read the window newest to oldest; features = both summaries."},
    )
    embed: int = field(
        default=0,
        metadata={"help": "Size of a linear + ReLU layer on each observation first; 0: none."},
    )
    features: int = field(
        default=0,
        metadata={"help": "Size of a linear + ReLU layer on the summary; 0: none."},
    )
    window: int = field(default=8, metadata={"help": WINDOW_HELP})

    def __post_init__(self) -> None:
        for name, least in (("hidden", 1), ("layers", 1), ("embed", 0), ("features", 0),
                            ("window", 1)):  # fmt: skip
            value = getattr(self, name)
            if value < least:
                raise ConfigError(f"invalid value for {name!r}: must be >= {least}, got {value}")


class _WindowRNN(nn.Module):
    """What GRU and LSTM share: all but the recurrent cell (`rnn_class`)."""

    Options = RecurrentOptions
    reads = "windows of observations (Box K x D; each step flattened)"
    window_option = "window"
    rnn_class: type[nn.RNNBase]

    @staticmethod
    def refuses(observation_space: spaces.Space) -> str | None:
        return window_refusal(observation_space)

    def __init__(self, observation_space: spaces.Space, options: RecurrentOptions) -> None:
        super().__init__()
        in_dim = math.prod(observation_space.shape[1:])
        self.scale = pixel_scale(observation_space)
        self.embed: nn.Module = nn.Identity()
        if options.embed:
            # With no activation the projection would fold into the cell's input weights.
            self.embed = nn.Sequential(nn.Linear(in_dim, options.embed), nn.ReLU())
            in_dim = options.embed
        self.hidden = options.hidden
        self.bidirectional = options.bidirectional
        self.rnn = self.rnn_class(
            in_dim,
            options.hidden,
            num_layers=options.layers,
            batch_first=True,
            bidirectional=options.bidirectional,
        )
        summary = options.hidden * (2 if options.bidirectional else 1)
        self.head: nn.Module = nn.Identity()
        if options.features:
            self.head = nn.Sequential(nn.Linear(summary, options.features), nn.ReLU())
        self.features_dim = options.features or summary

    def forward(self, obs: Tensor) -> Tensor:
        x = self.embed(obs.float().flatten(2) * self.scale)  # [B, K, D]
        out, _ = self.rnn(x)  # the last layer's outputs, [B, K, directions * hidden]
        # The forward direction reads oldest to newest: its output at the newest step has seen
        # the whole window. The backward direction reads newest to oldest, so its output at the
        # newest step has seen only the newest observation; its summary of the window is its
        # output at the oldest step. (These are the two final states, h_n, of the last layer.)
        summary = out[:, -1, : self.hidden]
        if self.bidirectional:
            summary = torch.cat([summary, out[:, 0, self.hidden :]], dim=-1)
        return self.head(summary)


class GRU(_WindowRNN):
    """A GRU over the window (Cho et al., 2014, "Learning Phrase Representations using RNN
    Encoder-Decoder for Statistical Machine Translation"), torch's cell:

        r = sigmoid(W_r x + U_r h),  z = sigmoid(W_z x + U_z h)
        n = tanh(W_n x + r * (U_n h)),  h <- (1 - z) * n + z * h
    """

    rnn_class = nn.GRU
    parameter_budget = 14_000  # 13,440 with the defaults on Box(8, 4)


class LSTM(_WindowRNN):
    """An LSTM over the window (Hochreiter & Schmidhuber, 1997, "Long Short-Term Memory"; the
    forget gate of Gers et al., 2000), torch's cell:

        i, f, o = sigmoid(W_{i,f,o} x + U_{i,f,o} h),  g = tanh(W_g x + U_g h)
        c <- f * c + i * g,  h <- o * tanh(c)
    """

    rnn_class = nn.LSTM
    parameter_budget = 18_000  # 17,920 with the defaults on Box(8, 4)
