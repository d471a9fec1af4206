"""An rlbox backbone as SB3's features extractor, so that an sb3-* agent and an own agent can
be compared with the identical encoder (`rlbox train sb3-ppo CartPole-v1 --backbone gru`).

SB3 puts its `net_arch` layers on the extractor's features; with an rlbox backbone they are
none, so its heads sit on the backbone as the own agents' do. The backbone scales uint8 images
itself, so SB3's own scaling (`normalize_images`) is off.
"""

from __future__ import annotations

from typing import Any

from gymnasium import spaces
from torch import Tensor

from rlbox.errors import ConfigError
from rlbox.nn.backbone import BackboneSpec, BackboneUse


def extractor_kwargs(spec: BackboneSpec) -> dict[str, Any]:
    """`policy_kwargs` that make SB3 build backbone `spec` as its features extractor."""
    from stable_baselines3.common.torch_layers import BaseFeaturesExtractor

    if spec.use != BackboneUse():
        raise ConfigError(
            "sb3-* agents take a backbone and its options; augment, init_from, freeze, amp and "
            "compile are for rlbox's own agents"
        )

    class RlboxBackbone(BaseFeaturesExtractor):
        """rlbox backbone `spec.name` as an SB3 features extractor."""

        def __init__(self, observation_space: spaces.Space) -> None:
            backbone = spec.build(observation_space)
            super().__init__(observation_space, backbone.features_dim)
            self.backbone = backbone

        def forward(self, observations: Tensor) -> Tensor:
            return self.backbone(observations)

    return {
        "features_extractor_class": RlboxBackbone,
        "net_arch": [],
        "normalize_images": False,
    }
