"""GoogLeNet (Szegedy et al., 2014, "Going deeper with convolutions", Section 5 and Table 1),
scaled down.

    inception(a, b1, b, c1, c, d) = concat over channels of four parallel branches:
        conv a 1x1 | conv b1 1x1 -> conv b 3x3 | conv c1 1x1 -> conv c 5x5
                   | maxpool 3x3 stride 1 -> conv d 1x1          (each convolution then a ReLU)

    x / 255 -> conv 64w 7x7 stride 2 -> maxpool 3x3 stride 2 -> conv 64w 1x1 -> conv 192w 3x3
            -> maxpool 3x3 stride 2 -> inception 3a, 3b -> maxpool 3x3 stride 2 -> inception 4a, 4b
            -> global average pool -> linear features -> ReLU

The inception blocks are the paper's (Table 1), their channels times `width`, the first
`blocks` of its nine with its poolings after 3b and 4e. Left out: local response normalisation
and the two auxiliary classifiers (which helped train the full depth on ImageNet).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from gymnasium import spaces
from torch import Tensor, nn

from rlbox.errors import check
from rlbox.nn.cnn import image_refusal, pixels
from rlbox.nn.cnn.blocks import check_positive, pixel_scale, relu_init_

# Table 1: #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj; a pooling follows 3b and 4e.
INCEPTIONS = {
    "3a": (64, 96, 128, 16, 32, 32), "3b": (128, 128, 192, 32, 96, 64),
    "4a": (192, 96, 208, 16, 48, 64), "4b": (160, 112, 224, 24, 64, 64),
    "4c": (128, 128, 256, 24, 64, 64), "4d": (112, 144, 288, 32, 64, 64),
    "4e": (256, 160, 320, 32, 128, 128), "5a": (256, 160, 320, 32, 128, 128),
    "5b": (384, 192, 384, 48, 128, 128),
}  # fmt: skip


@dataclass(frozen=True)
class GoogLeNetOptions:
    width: float = field(
        default=0.25, metadata={"help": "Fraction of the paper's channels in every layer."}
    )
    blocks: int = field(
        default=4, metadata={"help": "How many of the paper's 9 inception blocks (3a, 3b, 4a...)."}
    )
    features: int = field(default=256, metadata={"help": "Size of the linear layer on top."})

    def __post_init__(self) -> None:
        check_positive("width", self.width)
        check(1 <= self.blocks <= len(INCEPTIONS), "blocks", f"1 to 9, got {self.blocks}")
        check_positive("features", self.features)


def conv(in_channels: int, channels: int, kernel: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, channels, kernel, stride, kernel // 2), nn.ReLU())


class Inception(nn.Module):
    def __init__(self, in_channels: int, sizes: tuple[int, ...]) -> None:
        super().__init__()
        a, b1, b, c1, c, d = sizes
        self.branches = nn.ModuleList([
            conv(in_channels, a, 1),
            nn.Sequential(conv(in_channels, b1, 1), conv(b1, b, 3)),
            nn.Sequential(conv(in_channels, c1, 1), conv(c1, c, 5)),
            nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), conv(in_channels, d, 1)),
        ])  # fmt: skip
        self.out_channels = a + b + c + d

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([branch(x) for branch in self.branches], dim=1)


class GoogLeNet(nn.Module):
    """A stem and four inception blocks, a quarter as wide as the paper's.

    With the defaults: 129,946 parameters at 4 x 84 x 84 (within `parameter_budget`),
    127,594 at 1 x 32 x 32.
    """

    Options = GoogLeNetOptions
    reads = "images (Box C x H x W, any size)"
    parameter_budget = 130_000

    @staticmethod
    def refuses(observation_space: spaces.Space) -> str | None:
        return image_refusal(observation_space, least=1)  # all convolutions and pools padded

    def __init__(self, observation_space: spaces.Space, options: GoogLeNetOptions) -> None:
        super().__init__()

        def scaled(n: int) -> int:
            return max(1, round(n * options.width))

        self.scale = pixel_scale(observation_space)
        layers: list[nn.Module] = [
            conv(observation_space.shape[0], scaled(64), 7, stride=2),
            nn.MaxPool2d(3, stride=2, padding=1),
            conv(scaled(64), scaled(64), 1),
            conv(scaled(64), scaled(192), 3),
            nn.MaxPool2d(3, stride=2, padding=1),
        ]
        channels = scaled(192)
        for name in list(INCEPTIONS)[: options.blocks]:
            layers.append(Inception(channels, tuple(scaled(n) for n in INCEPTIONS[name])))
            channels = layers[-1].out_channels
            if name in ("3b", "4e"):
                layers.append(nn.MaxPool2d(3, stride=2, padding=1))
        self.convs = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.linear = nn.Sequential(nn.Linear(channels, options.features), nn.ReLU())
        relu_init_(self)
        self.features_dim = options.features

    def forward(self, obs: Tensor) -> Tensor:
        return self.linear(self.convs(pixels(obs, self.scale)))
