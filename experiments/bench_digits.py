"""The image backbones as classifiers of handwritten digits: does each one learn?

Every image backbone (rlbox.nn.make_backbone with its default options) gets a linear head and
is trained on scikit-learn's bundled digits (1,797 images of 8x8, 10 classes; nothing is
downloaded), upsampled bilinearly to 32x32, one float channel in [0, 1] (nature_cnn, which
reads 36x36 and up, gets them at 36x36). The train/test split is fixed and stratified, 75/25
(random_state 0); training is Adam with a learning rate of 1e-3 decayed to 0 along a cosine
(so that the accuracy read is not that of one noisy last step), batches of 64, the same number
of epochs for every backbone, on one CPU thread (with two, a busy second core slowed some 20x).
Printed: a table of backbone, parameters (the backbone's, without the head), input size, test
accuracy and seconds per training epoch.

A sanity check of the backbones, not a benchmark of architectures: it shows each one trains end
to end from pixels, at what cost on this machine. The script exits with status 1, naming them,
if a CNN reaches less than 95% test accuracy or the ViT less than 90%.

    python experiments/bench_digits.py    # about 2.5 minutes
    python experiments/bench_digits.py --backbones resnet,vit --epochs 20 --seed 1
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from gymnasium import spaces
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import Tensor, nn

from rlbox.nn import make_backbone
from rlbox.nn.backbone import BACKBONES

IMAGE_BACKBONES = ["nature_cnn", "impala_cnn", "lenet", "alexnet", "vgg", "nin", "googlenet",
                   "resnet", "densenet", "vit"]  # fmt: skip
TARGETS = {"vit": 0.90}  # test accuracy each must reach; the CNNs: 0.95
SIZE = 32
BATCH = 64


def digits(size: int) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """Train images, train labels, test images, test labels: [N, 1, size, size] in [0, 1]."""
    data = load_digits()
    images = torch.as_tensor(data.images, dtype=torch.float32).unsqueeze(1) / 16.0
    images = F.interpolate(images, size=(size, size), mode="bilinear", align_corners=False)
    labels = torch.as_tensor(data.target)
    train, test = train_test_split(np.arange(len(labels)), test_size=0.25,
                                   stratify=data.target, random_state=0)  # fmt: skip
    return images[train], labels[train], images[test], labels[test]


def least_size(name: str) -> int:
    refuses = BACKBONES.get(name).refuses
    return next(s for s in range(SIZE, 129) if refuses(spaces.Box(0, 1, (1, s, s))) is None)


def train(name: str, size: int, epochs: int, seed: int) -> tuple[int, float, float]:
    """Parameters of the backbone, test accuracy, seconds per epoch."""
    x_train, y_train, x_test, y_test = digits(size)
    torch.manual_seed(seed)  # the backbone's and head's initial weights
    backbone = make_backbone(name, spaces.Box(0.0, 1.0, (1, size, size), np.float32))
    model = nn.Sequential(backbone, nn.Linear(backbone.features_dim, 10))
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    steps = epochs * -(-len(y_train) // BATCH)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, steps)
    generator = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    for _ in range(epochs):
        for batch in torch.randperm(len(y_train), generator=generator).split(BATCH):
            loss = F.cross_entropy(model(x_train[batch]), y_train[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
    seconds = (time.perf_counter() - start) / epochs
    model.eval()
    with torch.no_grad():
        accuracy = (model(x_test).argmax(1) == y_test).float().mean().item()
    return sum(p.numel() for p in backbone.parameters()), accuracy, seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backbones", default=",".join(IMAGE_BACKBONES),
                        help="comma-separated backbone names")  # fmt: skip
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument("--seed", type=int, default=0, help="initial weights and batch order")
    args = parser.parse_args()
    torch.set_num_threads(1)
    names = [n.strip() for n in args.backbones.split(",") if n.strip()]
    print(f"digits {SIZE}x{SIZE}, {args.epochs} epochs, batch {BATCH}, Adam 1e-3 cosine, "
          f"seed {args.seed}, one torch thread")  # fmt: skip
    print(f"{'backbone':<12}{'params':>10}{'input':>8}{'test acc':>10}{'s/epoch':>9}")
    failed = []
    for name in names:
        size = least_size(name)
        params, accuracy, seconds = train(name, size, args.epochs, args.seed)
        print(f"{name:<12}{params:>10,}{size:>5}x{size:<2}{accuracy:>10.1%}{seconds:>9.2f}")
        if accuracy < TARGETS.get(name, 0.95):
            failed.append(f"{name} {accuracy:.1%} < {TARGETS.get(name, 0.95):.0%}")
    if failed:
        print("below target: " + "; ".join(failed))
        sys.exit(1)


if __name__ == "__main__":
    main()
