"""The image backbones (rlbox.nn.cnn, and the ViT of rlbox.nn.seq): built by `make_backbone` for
the image shapes agents meet, sized as declared, trainable end to end, within their parameter
budgets, and refusing what they cannot read or cannot be with one-line errors."""

import dataclasses

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from gymnasium import spaces
from torch import nn

from rlbox.config.fields import coerce, field_type, to_plain
from rlbox.errors import ConfigError, RlboxError
from rlbox.nn import BACKBONES, make_backbone

NEW = ["impala_cnn", "lenet", "alexnet", "vgg", "nin", "googlenet", "resnet", "densenet", "vit"]
IMAGE_BACKBONES = ["nature_cnn", *NEW]
OUTPUT_OPTION = {"vit": "dim"}  # the option that sets the output size; the others': features
SHAPES = [((1, 32, 32), np.float32), ((3, 32, 32), np.uint8), ((4, 84, 84), np.uint8),
          ((3, 96, 96), np.uint8)]  # fmt: skip
VECTOR = spaces.Box(-1.0, 1.0, (4,), np.float32)


def image_space(shape: tuple[int, ...], dtype=np.uint8) -> spaces.Box:
    return spaces.Box(0, 255 if dtype == np.uint8 else 1, shape, dtype)


def random_images(n: int, space: spaces.Box, generator: torch.Generator) -> torch.Tensor:
    if space.dtype == np.uint8:
        return torch.randint(0, 256, (n, *space.shape), dtype=torch.uint8, generator=generator)
    return torch.rand((n, *space.shape), generator=generator)


def least_size(name: str) -> int:
    """The smallest square image side the backbone says it reads."""
    refuses = BACKBONES.get(name).refuses
    return next(s for s in range(1, 97) if refuses(image_space((1, s, s))) is None)


def declared_size(name: str) -> int:
    return getattr(BACKBONES.get(name).Options(), OUTPUT_OPTION.get(name, "features"))


CASES = [
    pytest.param(name, shape, dtype, id=f"{name}-{'x'.join(map(str, shape))}-{dtype.__name__}")
    for name in IMAGE_BACKBONES
    for shape, dtype in SHAPES
    if BACKBONES.get(name).refuses(image_space(shape, dtype)) is None  # nature_cnn: not 32x32
]


@pytest.mark.parametrize(("name", "shape", "dtype"), CASES)
def test_forward_backward_gives_the_declared_size_and_reaches_every_parameter(name, shape, dtype):
    torch.manual_seed(0)
    space = image_space(shape, dtype)
    net = make_backbone(name, space)
    features = net(random_images(3, space, torch.Generator().manual_seed(1)))
    assert features.shape == (3, net.features_dim) and net.features_dim == declared_size(name)
    (features * torch.randn_like(features)).sum().backward()
    for pname, parameter in net.named_parameters():
        assert parameter.grad is not None and parameter.grad.isfinite().all(), pname
    first = next(net.parameters())  # the layer that reads the pixels
    assert first.grad.abs().sum() > 0


@pytest.mark.parametrize("name", IMAGE_BACKBONES)
def test_the_output_size_is_the_option_that_declares_it(name):
    option = OUTPUT_OPTION.get(name, "features")
    net = make_backbone(name, image_space((4, 84, 84)), **{option: 48})
    assert net.features_dim == 48
    assert net(torch.zeros(2, 4, 84, 84, dtype=torch.uint8)).shape == (2, 48)


@pytest.mark.parametrize("name", IMAGE_BACKBONES)
def test_it_fits_a_fixed_batch_of_random_images(name):
    """16 noise images with random labels of 4 classes: memorising them takes every layer
    learning; the cross-entropy must fall by 90% within 300 Adam steps."""
    torch.manual_seed(0)
    size = max(32, least_size(name))  # nature_cnn reads 36x36 and up
    space = image_space((1, size, size), np.float32)
    generator = torch.Generator().manual_seed(0)
    images = random_images(16, space, generator)
    labels = torch.randint(0, 4, (16,), generator=generator)
    net = make_backbone(name, space)
    head = nn.Linear(net.features_dim, 4)
    optimizer = torch.optim.Adam([*net.parameters(), *head.parameters()], lr=1e-3)
    losses = []
    for _ in range(300):
        loss = F.cross_entropy(head(net(images)), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if losses[-1] <= 0.1 * losses[0]:
            break
    assert losses[-1] <= 0.1 * losses[0], (len(losses), losses[0], losses[-1])


@pytest.mark.parametrize("name", NEW)
def test_default_parameters_stay_within_the_declared_budget(name):
    net = make_backbone(name, image_space((4, 84, 84)))
    count = sum(p.numel() for p in net.parameters())
    assert count <= BACKBONES.get(name).parameter_budget <= 2_500_000, count


@pytest.mark.parametrize("name", IMAGE_BACKBONES)
def test_an_observation_alone_gets_the_features_it_gets_in_a_batch(name):
    """No batch statistics by default: acting on one env and learning on a batch see one
    function, in training mode as in eval mode."""
    torch.manual_seed(0)
    space = image_space((4, 84, 84))
    net = make_backbone(name, space)
    obs = random_images(4, space, torch.Generator().manual_seed(0))
    torch.testing.assert_close(net(obs[:1]), net(obs)[:1], atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("name", IMAGE_BACKBONES)
def test_a_vector_space_is_refused_in_one_line_naming_the_backbones_that_can(name):
    with pytest.raises(RlboxError, match=rf"backbone '{name}' cannot read observations Box") as e:
        make_backbone(name, VECTOR)
    message = str(e.value)
    assert "it reads channel-first images, Box(C, H, W)" in message and "\n" not in message
    can = message.split("backbones that can: ")[1].split(", ")
    assert "mlp" in can and not set(can) & set(IMAGE_BACKBONES)


@pytest.mark.parametrize("name", IMAGE_BACKBONES)
def test_the_least_size_declared_is_read_and_a_smaller_image_truly_cannot_be(name):
    least = least_size(name)
    assert least <= 36  # nature_cnn's 36; every new backbone reads 32x32
    space = image_space((3, least, least))
    net = make_backbone(name, space)
    assert net(torch.zeros(2, *space.shape, dtype=torch.uint8)).shape == (2, net.features_dim)
    if least == 1:
        return
    smaller = image_space((3, least - 1, least - 1))
    with pytest.raises(RlboxError, match=rf"at least {least}x{least} pixels; backbones") as e:
        make_backbone(name, smaller)
    can = str(e.value).split("backbones that can: ")[1].split(", ")
    assert set(can) & set(IMAGE_BACKBONES) == {n for n in IMAGE_BACKBONES if least_size(n) < least}
    cls = BACKBONES.get(name)
    with pytest.raises((RuntimeError, ConfigError)):  # not a refusal out of caution
        cls(smaller, cls.Options())(torch.zeros(1, *smaller.shape))


BAD_OPTIONS = [
    ("impala_cnn", {"channels": ()}, "channels"),
    ("impala_cnn", {"features": 0}, "features"),
    ("lenet", {"channels": (6,)}, "channels"),
    ("lenet", {"hidden": -1}, "hidden"),
    ("alexnet", {"width": 0}, "width"),
    ("alexnet", {"dropout": 1.0}, "dropout"),
    ("vgg", {"blocks": ((1, 16, 3),)}, "blocks"),
    ("vgg", {"blocks": ((0, 16),)}, "blocks"),
    ("nin", {"channels": (32, 0)}, "channels"),
    ("googlenet", {"blocks": 10}, "blocks"),
    ("googlenet", {"width": 0.0}, "width"),
    ("resnet", {"depth": 12}, "depth"),
    ("resnet", {"norm": "layer"}, "norm"),
    ("densenet", {"growth": 0}, "growth"),
    ("densenet", {"blocks": (4, 0)}, "blocks"),
    ("vit", {"heads": 3}, "heads"),
    ("vit", {"patch": 0}, "patch"),
]


@pytest.mark.parametrize(("name", "options", "key"), BAD_OPTIONS)
def test_bad_options_are_one_line_config_errors_naming_the_option(name, options, key):
    with pytest.raises(ConfigError, match=rf"^invalid value for '{key}': [^\n]+$"):
        make_backbone(name, image_space((3, 32, 32)), **options)


@pytest.mark.parametrize(
    ("name", "side", "options", "key"),
    [("vit", 32, {"patch": 40}, "patch"), ("resnet", 32, {"norm": "batch"}, "norm"),
     ("densenet", 16, {"norm": "batch"}, "norm")],
)  # fmt: skip
def test_options_these_images_cannot_take_are_config_errors(name, side, options, key):
    """A patch larger than the image; batch norm where the images leave a 1x1 last map, whose
    single value per channel batch norm cannot normalise in training mode."""
    with pytest.raises(ConfigError, match=rf"^invalid value for '{key}': [^\n]+$"):
        make_backbone(name, image_space((3, side, side)), **options)


@pytest.mark.parametrize("name", ["resnet", "densenet"])
@pytest.mark.parametrize("norm", ["batch", "none"])
def test_the_other_normalisations_build_and_train(name, norm):
    net = make_backbone(name, image_space((4, 84, 84)), norm=norm)
    obs = random_images(4, image_space((4, 84, 84)), torch.Generator().manual_seed(0))
    net(obs).sum().backward()
    assert all(p.grad is not None for p in net.parameters())


@pytest.mark.parametrize("name", NEW)
def test_default_options_round_trip_through_a_config_file(name):
    """Options are written to config.yaml as plain lists and coerced back to their types."""
    options = BACKBONES.get(name).Options
    for f in dataclasses.fields(options):
        default = f.default
        assert coerce(f.name, to_plain(default), field_type(options, f.name)) == default
