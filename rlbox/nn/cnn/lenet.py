"""LeNet-5 (LeCun et al., 1998, "Gradient-based learning applied to document recognition",
Section II.B), in its modern form.

    x / 255 -> conv 6 5x5 -> ReLU -> maxpool 2x2 -> conv 16 5x5 -> ReLU -> maxpool 2x2
            -> flatten -> linear 120 -> ReLU -> linear 84 -> ReLU

Modernised as is usual since: ReLU instead of the scaled tanh, max pooling instead of the
trainable average subsampling, every C3 map reading all six S2 maps (the paper's sparse table
kept the connections few and broke symmetry), and no RBF output layer (the agent puts its heads on
the 84 features). The paper's C5 is a 5x5 convolution that the 32x32 input shrinks to 1x1, a
fully connected layer in effect; here it is one, over whatever the image leaves.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gymnasium import spaces
from torch import Tensor, nn

from rlbox.errors import check
from rlbox.nn.cnn import image_refusal, pixels
from rlbox.nn.cnn.blocks import check_positive, dry_run, pixel_scale, relu_init_


@dataclass(frozen=True)
class LeNetOptions:
    channels: tuple[int, ...] = field(
        default=(6, 16), metadata={"help": "Channels of the two convolutions (C1, C3)."}
    )
    hidden: int = field(default=120, metadata={"help": "Size of the first linear layer (C5)."})
    features: int = field(default=84, metadata={"help": "Size of the last linear layer (F6)."})

    def __post_init__(self) -> None:
        check(len(self.channels) == 2, "channels", f"two sizes, got {list(self.channels)}")
        check_positive("channels", *self.channels)
        check_positive("hidden", self.hidden)
        check_positive("features", self.features)


class LeNet(nn.Module):
    """LeNet-5's two convolutions and two linear layers, modernised.

    With the defaults: 635,386 parameters at 4 x 84 x 84 (within `parameter_budget`),
    60,856 at 1 x 32 x 32.
    """

    Options = LeNetOptions
    reads = "images (Box C x H x W, at least 16 x 16)"
    parameter_budget = 640_000

    @staticmethod
    def refuses(observation_space: spaces.Space) -> str | None:
        # 16 -> conv 12 -> pool 6 -> conv 2 -> pool 1: the least that leaves a pixel.
        return image_refusal(observation_space, least=16)

    def __init__(self, observation_space: spaces.Space, options: LeNetOptions) -> None:
        super().__init__()
        c1, c3 = options.channels
        self.scale = pixel_scale(observation_space)
        self.convs = nn.Sequential(
            nn.Conv2d(observation_space.shape[0], c1, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c1, c3, 5), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(),
        )  # fmt: skip
        flat = dry_run(self.convs, observation_space.shape)[1]
        self.linear = nn.Sequential(
            nn.Linear(flat, options.hidden), nn.ReLU(),
            nn.Linear(options.hidden, options.features), nn.ReLU(),
        )  # fmt: skip
        relu_init_(self)
        self.features_dim = options.features

    def forward(self, obs: Tensor) -> Tensor:
        return self.linear(self.convs(pixels(obs, self.scale)))
