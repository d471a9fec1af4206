"""DenseNet-BC (Huang et al., 2017, "Densely connected convolutional networks", Section 3 and
Table 1), small.

    layer(k)     = x -> concat(x, conv k 3x3(ReLU(norm(conv 4k 1x1(ReLU(norm(x)))))))
    transition   = norm -> ReLU -> conv 1x1 to half the channels -> avgpool 2x2 stride 2

    x / 255 -> conv 2k 7x7 stride 2 -> norm -> ReLU -> maxpool 3x3 stride 2
            -> for n in blocks (4, 8, 8): n x layer(k), a transition between blocks
            -> norm -> ReLU -> global average pool -> linear features -> ReLU

Every layer reads the maps of all layers before it in its block and adds k (the growth rate)
of its own. The paper's DenseNet-121 is k = 32, blocks (6, 12, 24, 16); the default k = 12
(the paper's CIFAR rate) with three short blocks is what trains at RL speeds on a CPU. The
poolings are padded or round up, so any image size can be read. Normalisation defaults to
group norm rather than batch norm, for the reason given in rlbox.nn.cnn.resnet.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from gymnasium import spaces
from torch import Tensor, nn

from rlbox.errors import check
from rlbox.nn.cnn import image_refusal, pixels
from rlbox.nn.cnn.blocks import (
    NORM_HELP,
    NORMS,
    Norm,
    check_batch_norm,
    check_positive,
    dry_run,
    norm_layer,
    pixel_scale,
    relu_init_,
)


@dataclass(frozen=True)
class DenseNetOptions:
    growth: int = field(default=12, metadata={"help": "Maps each layer adds (the growth rate k)."})
    blocks: tuple[int, ...] = field(
        default=(4, 8, 8), metadata={"help": "Layers in each dense block."}
    )
    norm: Norm = field(default="group", metadata={"help": NORM_HELP})
    features: int = field(default=256, metadata={"help": "Size of the linear layer on top."})

    def __post_init__(self) -> None:
        check_positive("growth", self.growth)
        check_positive("blocks", *self.blocks)
        check(self.norm in NORMS, "norm", f"expected one of {list(NORMS)}, got {self.norm!r}")
        check_positive("features", self.features)


class DenseLayer(nn.Module):
    def __init__(self, in_channels: int, growth: int, norm: Norm) -> None:
        super().__init__()
        self.new = nn.Sequential(
            norm_layer(norm, in_channels), nn.ReLU(), nn.Conv2d(in_channels, 4 * growth, 1),
            norm_layer(norm, 4 * growth), nn.ReLU(), nn.Conv2d(4 * growth, growth, 3, padding=1),
        )  # fmt: skip

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([x, self.new(x)], dim=1)


class DenseNet(nn.Module):
    """Three dense blocks of growth 12, with group norm.

    With the defaults: 248,242 parameters at 4 x 84 x 84 (within `parameter_budget`),
    244,714 at 1 x 32 x 32.
    """

    Options = DenseNetOptions
    reads = "images (Box C x H x W, any size)"
    parameter_budget = 250_000

    @staticmethod
    def refuses(observation_space: spaces.Space) -> str | None:
        return image_refusal(observation_space, least=1)

    def __init__(self, observation_space: spaces.Space, options: DenseNetOptions) -> None:
        super().__init__()
        k, norm = options.growth, options.norm
        self.scale = pixel_scale(observation_space)
        layers: list[nn.Module] = [
            nn.Conv2d(observation_space.shape[0], 2 * k, 7, stride=2, padding=3),
            norm_layer(norm, 2 * k), nn.ReLU(), nn.MaxPool2d(3, stride=2, padding=1),
        ]  # fmt: skip
        channels = 2 * k
        for i, n in enumerate(options.blocks):
            if i > 0:  # a transition halves the maps (compression 0.5) and the image
                layers += [
                    norm_layer(norm, channels), nn.ReLU(), nn.Conv2d(channels, channels // 2, 1),
                    nn.AvgPool2d(2, stride=2, ceil_mode=True),
                ]  # fmt: skip
                channels //= 2
            for _ in range(n):
                layers.append(DenseLayer(channels, k, norm))
                channels += k
        layers += [norm_layer(norm, channels), nn.ReLU()]
        self.trunk = nn.Sequential(*layers)
        check_batch_norm(norm, dry_run(self.trunk, observation_space.shape))
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, options.features),
            nn.ReLU(),
        )  # fmt: skip
        relu_init_(self)
        self.features_dim = options.features

    def forward(self, obs: Tensor) -> Tensor:
        return self.head(self.trunk(pixels(obs, self.scale)))
