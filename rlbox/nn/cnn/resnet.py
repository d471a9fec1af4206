"""ResNet (He et al., 2016, "Deep residual learning for image recognition", Section 3 and
Table 1), with basic blocks, narrow.

    block(c, s) = ReLU(x' + norm(conv c 3x3(ReLU(norm(conv c 3x3 stride s(x))))))
                  x' = x, or norm(conv c 1x1 stride s(x)) where the shape changes (option B)

    x / 255 -> conv w 7x7 stride 2 -> norm -> ReLU -> maxpool 3x3 stride 2
            -> for stage i in 0..3: n_i x block(w * 2^i), the first with stride 2 for i > 0
            -> global average pool -> linear features -> ReLU

`depth` names the paper's basic-block networks: 18 is n = (2, 2, 2, 2), 34 is (3, 4, 6, 3),
and 10 (one block per stage) is the smallest of the family. The paper's width is w = 64.
Normalisation defaults to group norm rather than the paper's batch norm: batch statistics
differ between acting on a few observations and learning on a batch, and a network in training
mode acts with them; group norm computes the same function for one observation or many.
"""

from __future__ import annotations

from dataclasses import dataclass, field

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

BLOCKS_PER_STAGE = {10: (1, 1, 1, 1), 18: (2, 2, 2, 2), 34: (3, 4, 6, 3)}


@dataclass(frozen=True)
class ResNetOptions:
    depth: int = field(
        default=18,
        metadata={"help": "ResNet-10, -18 or -34: (1,1,1,1), (2,2,2,2) or (3,4,6,3) blocks."},
    )
    width: int = field(
        default=16, metadata={"help": "Channels of the first stage, doubled at each next one."}
    )
    norm: Norm = field(default="group", metadata={"help": NORM_HELP})
    features: int = field(default=256, metadata={"help": "Size of the linear layer on top."})

    def __post_init__(self) -> None:
        check(self.depth in BLOCKS_PER_STAGE, "depth", f"10, 18 or 34, got {self.depth!r}")
        check(self.norm in NORMS, "norm", f"expected one of {list(NORMS)}, got {self.norm!r}")
        check_positive("width", self.width)
        check_positive("features", self.features)


class BasicBlock(nn.Module):
    def __init__(self, in_channels: int, channels: int, stride: int, norm: Norm) -> None:
        super().__init__()
        self.residual = nn.Sequential(
            nn.Conv2d(in_channels, channels, 3, stride, padding=1), norm_layer(norm, channels),
            nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1), norm_layer(norm, channels),
        )  # fmt: skip
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_channels != channels:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_channels, channels, 1, stride), norm_layer(norm, channels)
            )

    def forward(self, x: Tensor) -> Tensor:
        return (self.shortcut(x) + self.residual(x)).relu()


class ResNet(nn.Module):
    """ResNet-18 a quarter as wide as the paper's, with group norm.

    With the defaults: 737,104 parameters at 4 x 84 x 84 (within `parameter_budget`),
    734,752 at 1 x 32 x 32.
    """

    Options = ResNetOptions
    reads = "images (Box C x H x W, any size)"
    parameter_budget = 740_000

    @staticmethod
    def refuses(observation_space: spaces.Space) -> str | None:
        return image_refusal(observation_space, least=1)  # all convolutions and pools padded

    def __init__(self, observation_space: spaces.Space, options: ResNetOptions) -> None:
        super().__init__()
        w, norm = options.width, options.norm
        self.scale = pixel_scale(observation_space)
        layers: list[nn.Module] = [
            nn.Conv2d(observation_space.shape[0], w, 7, stride=2, padding=3),
            norm_layer(norm, w), nn.ReLU(), nn.MaxPool2d(3, stride=2, padding=1),
        ]  # fmt: skip
        in_channels = w
        for stage, blocks in enumerate(BLOCKS_PER_STAGE[options.depth]):
            channels = w * 2**stage
            for block in range(blocks):
                stride = 2 if stage > 0 and block == 0 else 1
                layers.append(BasicBlock(in_channels, channels, stride, norm))
                in_channels = channels
        self.trunk = nn.Sequential(*layers)
        check_batch_norm(norm, dry_run(self.trunk, observation_space.shape))
        self.head = nn.Sequential(
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(in_channels, options.features),
            nn.ReLU(),
        )  # fmt: skip
        relu_init_(self)
        self.features_dim = options.features

    def forward(self, obs: Tensor) -> Tensor:
        return self.head(self.trunk(pixels(obs, self.scale)))
