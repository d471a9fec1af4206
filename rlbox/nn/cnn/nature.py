"""The Nature DQN CNN (Mnih et al., 2015, "Human-level control through deep reinforcement
learning", Methods: model architecture), the default backbone for image observations.

    x / 255 -> conv 32 8x8 stride 4 -> ReLU -> conv 64 4x4 stride 2 -> ReLU
            -> conv 64 3x3 stride 1 -> ReLU -> flatten -> linear 512 -> ReLU
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gymnasium import spaces
from torch import Tensor, nn

from rlbox.errors import ConfigError
from rlbox.nn.cnn import image_refusal, pixels
from rlbox.nn.cnn.blocks import dry_run, pixel_scale


@dataclass(frozen=True)
class NatureCNNOptions:
    channels: tuple[int, ...] = field(
        default=(32, 64, 64), metadata={"help": "Output channels of the three convolutions."}
    )
    features: int = field(default=512, metadata={"help": "Size of the linear layer on top."})

    def __post_init__(self) -> None:
        if len(self.channels) != 3 or not all(c > 0 for c in self.channels):
            raise ConfigError(
                f"invalid value for 'channels': three positive sizes, got {list(self.channels)}"
            )
        if self.features <= 0:
            raise ConfigError(
                f"invalid value for 'features': must be positive, got {self.features}"
            )


class NatureCNN(nn.Module):
    """The DQN paper's three convolutions and a 512-unit layer."""

    Options = NatureCNNOptions
    reads = "images (Box C x H x W, at least 36 x 36)"

    @staticmethod
    def refuses(observation_space: spaces.Space) -> str | None:
        return image_refusal(observation_space, least=36)

    def __init__(self, observation_space: spaces.Space, options: NatureCNNOptions) -> None:
        super().__init__()
        c1, c2, c3 = options.channels
        in_channels = observation_space.shape[0]
        self.scale = pixel_scale(observation_space)
        self.convs = nn.Sequential(
            nn.Conv2d(in_channels, c1, 8, stride=4), nn.ReLU(),
            nn.Conv2d(c1, c2, 4, stride=2), nn.ReLU(),
            nn.Conv2d(c2, c3, 3, stride=1), nn.ReLU(),
            nn.Flatten(),
        )  # fmt: skip
        flat = dry_run(self.convs, observation_space.shape)[1]
        self.linear = nn.Sequential(nn.Linear(flat, options.features), nn.ReLU())
        self.features_dim = options.features

    def forward(self, obs: Tensor) -> Tensor:
        return self.linear(self.convs(pixels(obs, self.scale)))
