"""The sequence backbones over windows of observations (rlbox.nn.seq: gru, lstm, transformer):
built by `make_backbone`, sized as declared, trainable end to end, reading the whole window."""

import math

import numpy as np
import pytest
import torch
from gymnasium import spaces

from rlbox.errors import RlboxError
from rlbox.nn import BACKBONES, make_backbone
from rlbox.nn import backbone as backbone_module
from rlbox.registry import Registry

# name, options: every registered sequence backbone, and the bidirectional recurrent ones
CASES = [
    ("gru", {}),
    ("gru", {"bidirectional": True}),
    ("lstm", {}),
    ("lstm", {"bidirectional": True}),
    ("transformer", {}),
]
WINDOWS = [spaces.Box(-1.0, 1.0, (8, 4), np.float32), spaces.Box(-1.0, 1.0, (3, 2), np.float32)]


def case_id(case):
    name, options = case
    return name + "".join(f"-{key}" for key in options)


@pytest.mark.parametrize("window", WINDOWS, ids=lambda s: "x".join(map(str, s.shape)))
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_forward_backward_gives_the_declared_size_and_reaches_every_parameter(case, window):
    name, options = case
    torch.manual_seed(0)
    net = make_backbone(name, window, **options)
    features = net(torch.randn(5, *window.shape))
    assert features.shape == (5, net.features_dim)
    hidden = 64 * (2 if options.get("bidirectional") else 1)
    assert net.features_dim == hidden
    features.square().sum().backward()
    for pname, parameter in net.named_parameters():
        assert parameter.grad is not None and parameter.grad.abs().sum() > 0, pname


def fit_the_oldest_observation(net, window, newest_only=False):
    """Train `net` and a linear head for 120 Adam steps on a fixed batch of 256 random windows
    to output each window's oldest observation; return the loss before, after, and on 256 new
    windows. A net that does not read the window can memorise the batch (by the newest
    observation, say) but cannot get the new windows right: the held-out loss is the test."""
    step_dim = math.prod(window.shape[1:])
    head = torch.nn.Linear(net.features_dim, step_dim)
    obs, held_out = torch.randn(256, *window.shape), torch.randn(256, *window.shape)

    def loss_on(batch):
        seen = batch[:, -1] if newest_only else batch
        return (head(net(seen)) - batch[:, 0].flatten(1)).square().mean()

    optimizer = torch.optim.Adam([*net.parameters(), *head.parameters()], lr=5e-3)
    losses = []
    for _ in range(120):
        loss = loss_on(obs)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    with torch.no_grad():
        return losses[0], max(losses[-10:]), loss_on(held_out).item()


@pytest.mark.parametrize("window", WINDOWS, ids=lambda s: "x".join(map(str, s.shape)))
@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_it_learns_a_target_only_the_oldest_observation_holds(case, window):
    name, options = case
    torch.manual_seed(0)
    before, after, held_out = fit_the_oldest_observation(
        make_backbone(name, window, **options), window
    )
    assert after <= 0.1 * before and held_out <= 0.1 * before, (before, after, held_out)


def test_the_task_needs_the_window_an_mlp_of_the_newest_observation_does_not_learn_it():
    torch.manual_seed(0)
    window = WINDOWS[0]
    newest = spaces.Box(-1.0, 1.0, window.shape[1:], np.float32)
    before, after, held_out = fit_the_oldest_observation(
        make_backbone("mlp", newest), window, newest_only=True
    )
    assert after < before and held_out >= 0.9 * before, (before, after, held_out)


@pytest.mark.parametrize("name", ["gru", "lstm", "transformer"])
def test_default_parameters_stay_within_the_declared_budget(name):
    net = make_backbone(name, WINDOWS[0])
    count = sum(p.numel() for p in net.parameters())
    assert count <= BACKBONES.get(name).parameter_budget, count


@pytest.mark.parametrize("name", ["gru", "lstm", "transformer"])
def test_the_window_length_option_is_for_the_env_the_backbone_reads_k_from_the_space(name):
    cls = BACKBONES.get(name)
    assert cls.window_option == "window" and cls.Options().window == 8
    net = make_backbone(name, WINDOWS[1], window=5)  # the env's window (3) is what it reads
    assert net(torch.zeros(2, 3, 2)).shape == (2, net.features_dim)


@pytest.mark.parametrize("name", ["gru", "lstm", "transformer"])
def test_a_vector_is_refused_in_one_line_saying_to_add_a_history_window(name, monkeypatch):
    # Only the backbones written so far: the refusal lists every registered one that fits.
    registry = Registry("backbone")
    registry.register("mlp", "rlbox.nn.mlp:MLP")
    registry.register("gru", "rlbox.nn.seq.recurrent:GRU")
    registry.register("lstm", "rlbox.nn.seq.recurrent:LSTM")
    registry.register("transformer", "rlbox.nn.seq.transformer:Transformer")
    monkeypatch.setattr(backbone_module, "BACKBONES", registry)
    with pytest.raises(RlboxError) as error:
        make_backbone(name, spaces.Box(-1.0, 1.0, (4,), np.float32))
    message = str(error.value)
    assert "\n" not in message
    assert "windows Box(K, D) of the last K observations: train with env option history=K" in (
        message
    )
    assert message.endswith("backbones that can: mlp")


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("gru", {"hidden": 0}, r"invalid value for 'hidden'"),
        ("lstm", {"window": 0}, r"invalid value for 'window'"),
        ("transformer", {"heads": 3}, r"invalid value for 'heads': must divide dim 64"),
        ("transformer", {"dropout": 1.0}, r"invalid value for 'dropout'"),
    ],
)
def test_bad_options_are_named(name, options, message):
    with pytest.raises(RlboxError, match=message):
        make_backbone(name, WINDOWS[0], **options)
