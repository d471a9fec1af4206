"""VGG (Simonyan & Zisserman, 2014, "Very deep convolutional networks for large-scale image
recognition", Section 2 and Table 1), small.

    x / 255 -> for (n, c) in blocks ((1, 16), (1, 32), (2, 64), (2, 64)):
                   n x [conv c 3x3 -> ReLU] -> maxpool 2x2 stride 2
            -> flatten -> linear features -> ReLU

The paper's configuration A (VGG-11) is blocks ((1, 64), (1, 128), (2, 256), (2, 512),
(2, 512)) with two linear layers of 4096; the default keeps A's first four blocks at a quarter
of the width, and one linear layer, as the Nature CNN has. The poolings round up (a last odd
row or column is pooled alone), so any image size can be read and no pixel is dropped.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gymnasium import spaces
from torch import Tensor, nn

from rlbox.errors import check
from rlbox.nn.cnn import image_refusal, pixels
from rlbox.nn.cnn.blocks import check_positive, dry_run, pixel_scale, relu_init_


@dataclass(frozen=True)
class VGGOptions:
    blocks: tuple[tuple[int, int], ...] = field(
        default=((1, 16), (1, 32), (2, 64), (2, 64)),
        metadata={"help": "(convolutions, channels) of each block; each ends in a 2x2 pooling."},
    )
    features: int = field(default=256, metadata={"help": "Size of the linear layer on top."})

    def __post_init__(self) -> None:
        pairs = all(len(block) == 2 for block in self.blocks)
        check(pairs, "blocks", f"(convolutions, channels) pairs, got {list(self.blocks)}")
        check_positive("blocks", *(n for block in self.blocks for n in block))
        check_positive("features", self.features)


class VGG(nn.Module):
    """Blocks of 3x3 convolutions, each ending in a pooling, and a linear layer.

    With the defaults: 724,592 parameters at 4 x 84 x 84 (within `parameter_budget`),
    199,872 at 1 x 32 x 32.
    """

    Options = VGGOptions
    reads = "images (Box C x H x W, any size)"
    parameter_budget = 730_000

    @staticmethod
    def refuses(observation_space: spaces.Space) -> str | None:
        return image_refusal(observation_space, least=1)

    def __init__(self, observation_space: spaces.Space, options: VGGOptions) -> None:
        super().__init__()
        self.scale = pixel_scale(observation_space)
        layers: list[nn.Module] = []
        in_channels = observation_space.shape[0]
        for convs, channels in options.blocks:
            for _ in range(convs):
                layers += [nn.Conv2d(in_channels, channels, 3, padding=1), nn.ReLU()]
                in_channels = channels
            layers.append(nn.MaxPool2d(2, stride=2, ceil_mode=True))
        self.convs = nn.Sequential(*layers, nn.Flatten())
        flat = dry_run(self.convs, observation_space.shape)[1]
        self.linear = nn.Sequential(nn.Linear(flat, options.features), nn.ReLU())
        relu_init_(self)
        self.features_dim = options.features

    def forward(self, obs: Tensor) -> Tensor:
        return self.linear(self.convs(pixels(obs, self.scale)))
