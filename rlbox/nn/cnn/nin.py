"""Network in Network (Lin et al., 2013, "Network in network", Sections 3.1-3.2 and 4.2).

    mlpconv(c, k) = conv c kxk -> ReLU -> conv c 1x1 -> ReLU -> conv c 1x1 -> ReLU

    x / 255 -> mlpconv(32, 5) stride 2 -> maxpool 3x3 stride 2
            -> mlpconv(64, 3) -> maxpool 3x3 stride 2
            -> mlpconv(features, 3) -> global average pool

As in the paper there is no linear layer on top: the last mlpconv has one map per feature and
its global average is the feature vector. The paper's CIFAR-10 network reads 32x32 images at
stride 1; the first block's stride 2 (the ImageNet network's is 4) keeps 84x84 images cheap.
Convolutions and poolings are padded, so any image size can be read. Averaging the last maps
keeps what is there, not where: deep maps still carry some position, learnt from the zero
padding (Islam et al., 2020), but a task that hinges on exact positions may want a flattening
backbone (nature_cnn, impala_cnn).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gymnasium import spaces
from torch import Tensor, nn

from rlbox.errors import check
from rlbox.nn.cnn import image_refusal, pixels
from rlbox.nn.cnn.blocks import check_positive, pixel_scale, relu_init_


@dataclass(frozen=True)
class NiNOptions:
    channels: tuple[int, ...] = field(
        default=(32, 64), metadata={"help": "Channels of the two first mlpconv blocks."}
    )
    features: int = field(
        default=256, metadata={"help": "Channels of the last mlpconv block: the output size."}
    )

    def __post_init__(self) -> None:
        check(len(self.channels) == 2, "channels", f"two sizes, got {list(self.channels)}")
        check_positive("channels", *self.channels)
        check_positive("features", self.features)


def mlpconv(in_channels: int, channels: int, kernel: int, stride: int = 1) -> list[nn.Module]:
    """A convolution followed by a two-layer perceptron shared over positions (1x1 convs)."""
    return [
        nn.Conv2d(in_channels, channels, kernel, stride, padding=kernel // 2), nn.ReLU(),
        nn.Conv2d(channels, channels, 1), nn.ReLU(),
        nn.Conv2d(channels, channels, 1), nn.ReLU(),
    ]  # fmt: skip


class NiN(nn.Module):
    """Three mlpconv blocks and a global average, no linear layer.

    With the defaults: 311,456 parameters at 4 x 84 x 84 (within `parameter_budget`),
    309,056 at 1 x 32 x 32 (the average makes the count independent of the image size).
    """

    Options = NiNOptions
    reads = "images (Box C x H x W, any size)"
    parameter_budget = 320_000

    @staticmethod
    def refuses(observation_space: spaces.Space) -> str | None:
        return image_refusal(observation_space, least=1)

    def __init__(self, observation_space: spaces.Space, options: NiNOptions) -> None:
        super().__init__()
        c1, c2 = options.channels
        self.scale = pixel_scale(observation_space)
        self.net = nn.Sequential(
            *mlpconv(observation_space.shape[0], c1, 5, stride=2),
            nn.MaxPool2d(3, stride=2, padding=1),
            *mlpconv(c1, c2, 3),
            nn.MaxPool2d(3, stride=2, padding=1),
            *mlpconv(c2, options.features, 3),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
        )
        relu_init_(self)
        self.features_dim = options.features

    def forward(self, obs: Tensor) -> Tensor:
        return self.net(pixels(obs, self.scale))
