"""Tiny deterministic models for the attack tests: an AttGAN, CNN targets, a linear generator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
from torch import Tensor, nn

from sia_audit.generators.attgan import AttGANGenerator
from sia_audit.generators.interface import Generator, Latent
from sia_audit.targets.contract import Target, TargetContract

ATTRS = ("Bald", "Bangs", "Eyeglasses", "Male", "Smiling")
TINY = {
    "img_size": 16,
    "enc_dim": 8,
    "dec_dim": 8,
    "enc_layers": 3,
    "dec_layers": 3,
    "shortcut_layers": 1,
    "inject_layers": 1,
}


def _perturb_bn(module: nn.Module) -> None:
    # Non-trivial running statistics, so eval-mode batch independence is really exercised.
    for name, buf in module.named_buffers():
        if name.endswith("running_mean"):
            buf.normal_(0, 0.1)
        elif name.endswith("running_var"):
            buf.uniform_(0.5, 1.5)


def tiny_attgan(seed: int = 0, dtype: torch.dtype = torch.float32) -> AttGANGenerator:
    torch.manual_seed(seed)
    g = AttGANGenerator.from_settings(TINY, ATTRS)
    _perturb_bn(g)
    return g.to(dtype).eval().requires_grad_(False)


def small_cnn(outputs: int, seed: int = 1, dtype: torch.dtype = torch.float32) -> nn.Module:
    torch.manual_seed(seed)
    net = nn.Sequential(
        nn.Conv2d(3, 8, 3, 2, 1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.Conv2d(8, 8, 3, 2, 1),
        nn.BatchNorm2d(8),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d(1),
        nn.Flatten(),
        nn.Linear(8, outputs),
    )
    _perturb_bn(net)
    return net.to(dtype).eval()


def binary_target(dtype: torch.dtype = torch.float32, size: int = 24) -> Target:
    contract = TargetContract(
        "binary", (size, size), (0.5, 0.4, 0.3), (0.25, 0.3, 0.2), label="Eyeglasses"
    )
    return Target(small_cnn(1, dtype=dtype), contract).to(dtype)


def multiclass_target(classes: int = 4, dtype: torch.dtype = torch.float32) -> Target:
    contract = TargetContract(
        "multiclass", (32, 32), (0.5, 0.5, 0.5), (0.25, 0.25, 0.25), num_classes=classes
    )
    return Target(small_cnn(classes, dtype=dtype), contract).to(dtype)


def probes(
    n: int, seed: int = 0, dtype: torch.dtype = torch.float32, size: int = 16
) -> tuple[Tensor, ...]:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 3, size, size, generator=g, dtype=dtype)
    a = torch.rand(n, len(ATTRS), generator=g, dtype=dtype).round()
    y = torch.rand(n, generator=g, dtype=dtype).round()
    return x, a, y


class LinearGenerator(Generator):
    """G(x, a) = x + a @ W: gradients known by hand (not clipped to [0, 1]; tests only)."""

    def __init__(self, weight: Tensor, image_size: int) -> None:
        self.weight = weight  # (K, 3 * S * S)
        self.attr_names = tuple(f"attr{k}" for k in range(weight.shape[0]))
        self.image_size = image_size

    def encode(self, x: Tensor) -> Latent:
        return (x,)

    def decode(self, z: Latent, a: Tensor) -> Tensor:
        return z[0] + (a @ self.weight).view_as(z[0])


class LinearLogit(nn.Module):
    """logit = <w, y>: with BCE the sign of every input gradient is constant (sign of w)."""

    def __init__(self, w: Tensor) -> None:
        super().__init__()
        self.w = nn.Parameter(w)

    def forward(self, y: Tensor) -> Tensor:
        return (y * self.w).flatten(1).sum(1)


@pytest.fixture(autouse=True)
def _one_thread() -> Iterator[None]:
    # Tiny models on a machine shared with a training job: one intra-op thread avoids OpenMP
    # contention (3x faster here) and the results do not depend on the thread count.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def attgan() -> AttGANGenerator:
    return tiny_attgan()


@pytest.fixture(scope="module")
def target() -> Target:
    return binary_target()
