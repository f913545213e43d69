"""What an audit costs on real-face shapes, on this CPU: what docs/guide/real-faces.md quotes.

The shapes of an audit on real faces: the reference AttGAN-PyTorch generator at 128 px with its
13 CelebA attributes (its own layout and defaults, seeded random weights: speed does not depend
on them) and a torchvision ResNet-18 target at 224 px with ImageNet normalisation. Two figures:

- one SIA step of one probe (the engine alone: a forward and backward pass through G and f);
- one step of a whole audit per probe (SIA and the PGD baseline, each one step, as `run`
  does), and the audit's fixed cost per probe besides its steps (FGSM, the attribute effects,
  the reconstruction, the figures).

Each per-step cost is the difference between runs of `steps` and `2 x steps` steps on the same
probes, divided by the extra probe-steps, so the fixed cost stays apart. Best of `repeats`
interleaved repeats (the machine is shared). Run:
    .venv/bin/python benchmarks/real_faces_cost.py [threads [probes [steps [repeats]]]]
"""

from __future__ import annotations

import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
import torchvision
from torch import Tensor

from sia_audit.attacks import AttackConfig, attack
from sia_audit.audit import AuditConfig, audit
from sia_audit.generators.attgan import GENERATOR_DEFAULTS, AttGANGenerator
from sia_audit.generators.interface import Generator
from sia_audit.metrics import BootstrapConfig
from sia_audit.targets import Target, TargetContract

REFERENCE_ATTRIBUTES = (
    "Bald", "Bangs", "Black_Hair", "Blond_Hair", "Brown_Hair", "Bushy_Eyebrows", "Eyeglasses",
    "Male", "Mouth_Slightly_Open", "Mustache", "No_Beard", "Pale_Skin", "Young",
)  # fmt: skip
IMAGENET = ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225))


@dataclass(frozen=True)
class Cost:
    per_probe_step: float  # seconds per probe and step
    fixed_per_probe: float  # seconds per probe besides its steps


class RandomFaces:
    """`n` random probes at the generator's size, labelled with its attributes (a ProbeSet)."""

    def __init__(self, n: int, size: int, attr_names: Sequence[str]) -> None:
        g = torch.Generator().manual_seed(0)
        self.attr_names = tuple(attr_names)
        self.names = tuple(f"face-{i}" for i in range(n))
        self.attrs = (torch.rand(n, len(attr_names), generator=g) > 0.5).float()
        self.landmarks = None
        self._images = torch.rand(n, 3, size, size, generator=g)

    def __len__(self) -> int:
        return len(self.names)

    @property
    def output_size(self) -> tuple[int, int]:
        return tuple(self._images.shape[-2:])  # type: ignore[return-value]

    def load_images(self, indices: Sequence[int]) -> Tensor:
        return self._images[list(indices)]

    def manifest_sha256(self) -> str:
        return "random"


def reference_models(target_size: int = 224) -> tuple[Generator, Target]:
    """The reference AttGAN's generator at its defaults (128 px, 13 attributes) and ResNet-18."""
    torch.manual_seed(0)
    gen = AttGANGenerator.from_settings(GENERATOR_DEFAULTS, REFERENCE_ATTRIBUTES)
    gen = gen.eval().requires_grad_(False)
    resnet = torchvision.models.resnet18(num_classes=1).eval().requires_grad_(False)
    contract = TargetContract("binary", (target_size, target_size), *IMAGENET, label="Eyeglasses")
    return gen, Target(resnet, contract)


def _config(steps: int) -> AttackConfig:
    return AttackConfig(steps=steps, eta_x=1 / 255, eta_a=1 / 255, eps_x=1.5 / 255)  # ci preset


def _cost(run: Callable[[int], None], probes: int, steps: int, repeats: int) -> Cost:
    def timed(t: int) -> float:
        start = time.perf_counter()
        run(t)
        return time.perf_counter() - start

    run(1)  # warm-up: allocator, oneDNN primitives
    short = long = float("inf")
    for _ in range(repeats):
        short = min(short, timed(steps))
        long = min(long, timed(2 * steps))
    per_step = (long - short) / (probes * steps)
    return Cost(per_step, max(short / probes - per_step * steps, 0.0))


def sia_step(gen: Generator, target: Target, probes: int, steps: int, repeats: int = 2) -> Cost:
    """The engine alone: SIA (variant full) on one batch of random probes."""
    faces = RandomFaces(probes, gen.image_size, gen.attr_names)
    x0, a0 = faces.load_images(range(probes)), faces.attrs
    eps_a = torch.ones(len(gen.attr_names))
    eps_a[gen.attr_names.index("Eyeglasses")] = 0.0  # the target's label is frozen

    def run(t: int) -> None:
        attack(x0, a0, torch.zeros(probes), generator=gen, target=target, task=target.task,
               config=_config(t), eps_a=eps_a)  # fmt: skip

    return _cost(run, probes, steps, repeats)


def audit_step(gen: Generator, target: Target, probes: int, steps: int, repeats: int = 2) -> Cost:
    """A whole audit as `sia-audit run` makes it (SIA, FGSM and PGD, the attribute effects),
    in one batch, without the editability check (it needs an attribute classifier)."""
    faces = RandomFaces(probes, gen.image_size, gen.attr_names)

    def run(t: int) -> None:
        config = AuditConfig(
            attack=_config(t),
            batch_size=probes,
            bootstrap=BootstrapConfig(resamples=100),
            subpopulations=(),
        )
        audit(faces, gen, target, config)

    return _cost(run, probes, steps, repeats)


def main() -> None:
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    probes = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    steps = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    repeats = int(sys.argv[4]) if len(sys.argv) > 4 else 2
    torch.set_num_threads(threads)
    gen, target = reference_models()
    load = os.getloadavg()[0]
    sia = sia_step(gen, target, probes, steps, repeats)
    whole = audit_step(gen, target, probes, steps, repeats)
    print(
        f"torch {torch.__version__}, {platform.machine()} {torch.backends.cpu.get_cpu_capability()}"
        f", {threads} thread(s) of {os.cpu_count()} cores, load average {load:.2f} before, "
        f"{os.getloadavg()[0]:.2f} after"
    )
    print(
        f"AttGAN {gen.image_size} px ({len(gen.attr_names)} attributes) + ResNet-18 "
        f"{target.contract.input_size[0]} px, {probes} probes in one batch, {steps} vs "
        f"{2 * steps} steps, best of {repeats}:"
    )
    print(f"  SIA, one step of one probe:          {sia.per_probe_step:.2f} s")
    print(f"  whole audit, one step of one probe:  {whole.per_probe_step:.2f} s (SIA + PGD)")
    print(f"  whole audit, fixed cost per probe:   {whole.fixed_per_probe:.2f} s")


if __name__ == "__main__":
    main()
