"""The demo classifiers' architectures: a plain CNN and a residual network, one logit each.

Both read normalised 64x64 images (the contract's mean and std) and return logits (B,). The
planted-truth suite (benchmarks/validity/planted_suite.py) trains every plant with both, so that
what the audit finds is not a property of one architecture.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import Tensor, nn


class SmallCNN(nn.Module):
    """Four conv blocks and a linear head: about 136k parameters at width 24, one logit."""

    def __init__(self, width: int = 24) -> None:
        super().__init__()
        chans = [3, width, 2 * width, 4 * width, 4 * width]
        layers: list[nn.Module] = []
        for c_in, c_out in zip(chans, chans[1:], strict=False):
            layers += [
                nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
            ]
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(chans[-1], 1)

    def forward(self, x: Tensor) -> Tensor:
        """x: normalised images (B, 3, 64, 64) -> logits (B,)."""
        h = self.features(x).mean(dim=(2, 3))
        return self.head(h).squeeze(1)


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm and an identity (or 1x1 strided) shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(c_in, c_out, 3, stride=stride, padding=1, bias=False),
            nn.BatchNorm2d(c_out),
            nn.ReLU(inplace=True),
            nn.Conv2d(c_out, c_out, 3, padding=1, bias=False),
            nn.BatchNorm2d(c_out),
        )
        self.skip: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.skip = nn.Sequential(
                nn.Conv2d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm2d(c_out)
            )
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        return self.relu(self.body(x) + self.skip(x))


class SmallResNet(nn.Module):
    """A ResNet-style classifier: a stem, three stages of one basic block (stride 2 between
    stages), global average pooling and a linear head; about 156k parameters at width 16."""

    def __init__(self, width: int = 16) -> None:
        super().__init__()
        self.stem = nn.Sequential(
            nn.Conv2d(3, width, 3, stride=2, padding=1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(inplace=True),
        )
        self.stages = nn.Sequential(
            BasicBlock(width, width, 1),
            BasicBlock(width, 2 * width, 2),
            BasicBlock(2 * width, 4 * width, 2),
            BasicBlock(4 * width, 4 * width, 2),
        )
        self.head = nn.Linear(4 * width, 1)

    def forward(self, x: Tensor) -> Tensor:
        """x: normalised images (B, 3, 64, 64) -> logits (B,)."""
        h = self.stages(self.stem(x)).mean(dim=(2, 3))
        return self.head(h).squeeze(1)


ARCHITECTURES: dict[str, Callable[[], nn.Module]] = {"cnn": SmallCNN, "resnet": SmallResNet}
