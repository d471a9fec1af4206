"""The Vision Transformer (Dosovitskiy et al., 2020, "An Image is Worth 16x16 Words:
Transformers for Image Recognition at Scale", Section 3.1, eqs. 1-4), small.

    x / 255 -> conv dim pxp stride p                  N patches embedded; the remainder of a side
                                                      that p does not divide is dropped
            -> z = [CLS; patches] + E_pos             learned [CLS] token, learned positions (N + 1)
            -> depth x pre-norm encoder layer:
                   z = z + MSA(LN(z))
                   z = z + MLP(LN(z))                 GELU, hidden 4 dim
            -> LN(z_CLS): the features (dim)

The features are the [CLS] token's output after the final LayerNorm, as in the paper (eq. 4),
with no linear layer on top: their size is `dim`. With the default 8x8 patches a 32x32 image
is 16 patches, an 84x84 one 100 (the last 4 rows and columns dropped), a 96x96 one 144.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
from gymnasium import spaces
from torch import Tensor, nn

from rlbox.errors import check
from rlbox.nn.cnn import image_refusal, pixels
from rlbox.nn.cnn.blocks import check_positive, dry_run, pixel_scale


@dataclass(frozen=True)
class ViTOptions:
    patch: int = field(default=8, metadata={"help": "Side of the square patches, in pixels."})
    dim: int = field(
        default=128, metadata={"help": "Width of each token's embedding: the output size."}
    )
    depth: int = field(default=4, metadata={"help": "Encoder layers."})
    heads: int = field(default=4, metadata={"help": "Attention heads; must divide dim."})

    def __post_init__(self) -> None:
        for name in ("patch", "dim", "depth", "heads"):
            check_positive(name, getattr(self, name))
        check(self.dim % self.heads == 0, "heads", f"must divide dim {self.dim}, got {self.heads}")


class ViT(nn.Module):
    """A ViT of 4 layers of width 128 on 8x8 patches.

    With the defaults: 839,296 parameters at 4 x 84 x 84 (within `parameter_budget`),
    803,968 at 1 x 32 x 32.
    """

    Options = ViTOptions
    reads = "images (Box C x H x W, at least one patch: 8 x 8 with the default patch)"
    parameter_budget = 840_000

    @staticmethod
    def refuses(observation_space: spaces.Space) -> str | None:
        return image_refusal(observation_space, least=ViTOptions.patch)

    def __init__(self, observation_space: spaces.Space, options: ViTOptions) -> None:
        super().__init__()
        channels, height, width = observation_space.shape
        check(options.patch <= min(height, width), "patch",
              f"{options.patch} is larger than the images, {height}x{width}")  # fmt: skip
        self.scale = pixel_scale(observation_space)
        self.patches = nn.Conv2d(channels, options.dim, options.patch, stride=options.patch)
        tokens = dry_run(self.patches, observation_space.shape)[2:].numel()
        self.cls = nn.Parameter(torch.zeros(1, 1, options.dim))
        self.position = nn.Parameter(torch.zeros(1, tokens + 1, options.dim))
        nn.init.trunc_normal_(self.position, std=0.02)  # as the paper's code (vision_transformer)
        layer = nn.TransformerEncoderLayer(
            options.dim,
            options.heads,
            dim_feedforward=4 * options.dim,
            dropout=0.0,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        # Pre-norm leaves the residual stream unnormalised: the encoder's final LayerNorm closes it.
        self.encoder = nn.TransformerEncoder(
            layer, options.depth, norm=nn.LayerNorm(options.dim), enable_nested_tensor=False
        )
        self.features_dim = options.dim

    def forward(self, obs: Tensor) -> Tensor:
        x = self.patches(pixels(obs, self.scale)).flatten(2).transpose(1, 2)  # [B, N, dim]
        x = torch.cat([self.cls.expand(x.shape[0], -1, -1), x], dim=1) + self.position
        return self.encoder(x)[:, 0]
