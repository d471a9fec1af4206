"""Networks: perception backbones (`make_backbone`), the heads agents put on them, policy
distributions and initialisation. Imports torch and gymnasium.spaces only, never envs or
agents."""

from rlbox.nn.backbone import BACKBONES, BackboneSpec, make_backbone, options_class

__all__ = ["BACKBONES", "BackboneSpec", "make_backbone", "options_class"]
