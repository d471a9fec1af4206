"""AlexNet (Krizhevsky et al., 2012, "ImageNet classification with deep convolutional neural
networks", Section 3.5 and Fig. 2), scaled down.

    x / 255 -> conv 3w 11x11 stride 4 -> ReLU -> maxpool 3x3 stride 2
            -> conv 8w 5x5 -> ReLU -> maxpool 3x3 stride 2
            -> conv 12w 3x3 -> ReLU -> conv 12w 3x3 -> ReLU -> conv 8w 3x3 -> ReLU
            -> maxpool 3x3 stride 2 -> flatten
            -> dropout -> linear features -> ReLU -> dropout -> linear features -> ReLU

The paper's network is width w = 32 (96, 256, 384, 384, 256 channels, two layers of 4096);
the default w = 8 keeps its proportions at a quarter of its channels. Left out: the split over
two GPUs and local response normalisation (which did not help VGG, Simonyan & Zisserman,
2014, Section 4.1). The overlapping poolings are padded by one, so that 32x32 images still
have a map left for the third. Dropout defaults to 0 rather than the paper's 0.5: in RL it
makes the policy and the bootstrap targets noisy.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gymnasium import spaces
from torch import Tensor, nn

from rlbox.errors import check
from rlbox.nn.cnn import image_refusal, pixels
from rlbox.nn.cnn.blocks import check_positive, dry_run, pixel_scale, relu_init_


@dataclass(frozen=True)
class AlexNetOptions:
    width: int = field(
        default=8, metadata={"help": "Channels are (3, 8, 12, 12, 8) x width; the paper's is 32."}
    )
    features: int = field(default=256, metadata={"help": "Size of both linear layers on top."})
    dropout: float = field(
        default=0.0, metadata={"help": "Dropout before each linear layer (the paper's: 0.5)."}
    )

    def __post_init__(self) -> None:
        check_positive("width", self.width)
        check_positive("features", self.features)
        check(0.0 <= self.dropout < 1.0, "dropout", f"must be in [0, 1), got {self.dropout}")


class AlexNet(nn.Module):
    """AlexNet's five convolutions and two linear layers, a quarter as wide.

    With the defaults: 457,400 parameters at 4 x 84 x 84 (within `parameter_budget`),
    317,616 at 1 x 32 x 32.
    """

    Options = AlexNetOptions
    reads = "images (Box C x H x W, at least 7 x 7)"
    parameter_budget = 460_000

    @staticmethod
    def refuses(observation_space: spaces.Space) -> str | None:
        # The 11x11 stride-4 convolution, padded by 2, needs 7 pixels to fit once.
        return image_refusal(observation_space, least=7)

    def __init__(self, observation_space: spaces.Space, options: AlexNetOptions) -> None:
        super().__init__()
        c1, c2, c3, c4, c5 = (n * options.width for n in (3, 8, 12, 12, 8))
        self.scale = pixel_scale(observation_space)
        self.convs = nn.Sequential(
            nn.Conv2d(observation_space.shape[0], c1, 11, stride=4, padding=2), nn.ReLU(),
            nn.MaxPool2d(3, stride=2, padding=1),
            nn.Conv2d(c1, c2, 5, padding=2), nn.ReLU(),
            nn.MaxPool2d(3, stride=2, padding=1),
            nn.Conv2d(c2, c3, 3, padding=1), nn.ReLU(),
            nn.Conv2d(c3, c4, 3, padding=1), nn.ReLU(),
            nn.Conv2d(c4, c5, 3, padding=1), nn.ReLU(),
            nn.MaxPool2d(3, stride=2, padding=1),
            nn.Flatten(),
        )  # fmt: skip
        flat = dry_run(self.convs, observation_space.shape)[1]
        self.linear = nn.Sequential(
            nn.Dropout(options.dropout), nn.Linear(flat, options.features), nn.ReLU(),
            nn.Dropout(options.dropout), nn.Linear(options.features, options.features), nn.ReLU(),
        )  # fmt: skip
        relu_init_(self)
        self.features_dim = options.features

    def forward(self, obs: Tensor) -> Tensor:
        return self.linear(self.convs(pixels(obs, self.scale)))
