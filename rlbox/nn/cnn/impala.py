"""The IMPALA CNN (Espeholt et al., 2018, "IMPALA: Scalable Distributed Deep-RL with Importance
Weighted Actor-Learner Architectures", Fig. 3, the deep network), the residual network of
Procgen and many Atari agents since.

    x / 255 -> for c in channels (16, 32, 32):
                   conv c 3x3 -> maxpool 3x3 stride 2
                   -> 2 x residual block: x + conv c 3x3(ReLU(conv c 3x3(ReLU(x))))
            -> ReLU -> flatten -> linear 256 -> ReLU

Convolutions and poolings are padded ("same", as in the paper's TensorFlow code), so each
stage halves the image, rounding up, and any image size can be read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gymnasium import spaces
from torch import Tensor, nn

from rlbox.nn.cnn import image_refusal, pixels
from rlbox.nn.cnn.blocks import check_positive, dry_run, pixel_scale, relu_init_


@dataclass(frozen=True)
class ImpalaCNNOptions:
    channels: tuple[int, ...] = field(
        default=(16, 32, 32), metadata={"help": "Channels of each stage; one stage per entry."}
    )
    features: int = field(default=256, metadata={"help": "Size of the linear layer on top."})

    def __post_init__(self) -> None:
        check_positive("channels", *self.channels)
        check_positive("features", self.features)


class ResidualBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.convs = nn.Sequential(
            nn.ReLU(), nn.Conv2d(channels, channels, 3, padding=1),
            nn.ReLU(), nn.Conv2d(channels, channels, 3, padding=1),
        )  # fmt: skip

    def forward(self, x: Tensor) -> Tensor:
        return x + self.convs(x)


class ImpalaCNN(nn.Module):
    """IMPALA's three residual stages and a 256-unit layer.

    With the defaults: 1,089,232 parameters at 4 x 84 x 84 (within `parameter_budget`),
    228,640 at 1 x 32 x 32.
    """

    Options = ImpalaCNNOptions
    reads = "images (Box C x H x W, any size)"
    parameter_budget = 1_100_000

    @staticmethod
    def refuses(observation_space: spaces.Space) -> str | None:
        return image_refusal(observation_space, least=1)

    def __init__(self, observation_space: spaces.Space, options: ImpalaCNNOptions) -> None:
        super().__init__()
        self.scale = pixel_scale(observation_space)
        layers: list[nn.Module] = []
        in_channels = observation_space.shape[0]
        for channels in options.channels:
            layers += [
                nn.Conv2d(in_channels, channels, 3, padding=1),
                nn.MaxPool2d(3, stride=2, padding=1),
                ResidualBlock(channels),
                ResidualBlock(channels),
            ]
            in_channels = channels
        self.convs = nn.Sequential(*layers, nn.ReLU(), nn.Flatten())
        flat = dry_run(self.convs, observation_space.shape)[1]
        self.linear = nn.Sequential(nn.Linear(flat, options.features), nn.ReLU())
        relu_init_(self)
        self.features_dim = options.features

    def forward(self, obs: Tensor) -> Tensor:
        return self.linear(self.convs(pixels(obs, self.scale)))
