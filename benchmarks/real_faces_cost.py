"""What an audit costs on real-face shapes, on this CPU: what docs/guide/real-faces.md quotes.

The shapes of an audit on real faces: the reference AttGAN-PyTorch generator at 128 px with its
13 CelebA attributes (its own layout and defaults, seeded random weights: speed does not depend
on them) and a torchvision ResNet-18 target at 224 px with ImageNet normalisation. Two figures:

- one SIA step of one probe (the engine alone: a forward and backward pass through G and f);
- one step of a whole audit per probe and its fixed cost per probe besides its steps (the
  attribute effects, the flips, the reconstruction, the figures), as `run` makes it now (SIA
  alone: the pixel baselines run only when a policy asks) and as it did before (SIA, FGSM and
  PGD), interleaved in one run, with the projected wall time of a `ci` audit of 64 probes.

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


def _costs(
    runs: dict[str, Callable[[int], None]], probes: int, steps: int, repeats: int
) -> dict[str, Cost]:
    """Cost of each run, best of `repeats` rounds that run each in turn (so that a burst of
    load on the shared machine hits them alike)."""

    def timed(run: Callable[[int], None], t: int) -> float:
        start = time.perf_counter()
        run(t)
        return time.perf_counter() - start

    for run in runs.values():
        run(1)  # warm-up: allocator, oneDNN primitives
    short = dict.fromkeys(runs, float("inf"))
    long = dict.fromkeys(runs, float("inf"))
    for _ in range(repeats):
        for name, run in runs.items():
            short[name] = min(short[name], timed(run, steps))
            long[name] = min(long[name], timed(run, 2 * steps))
    out = {}
    for name in runs:
        per_step = (long[name] - short[name]) / (probes * steps)
        out[name] = Cost(per_step, max(short[name] / probes - per_step * steps, 0.0))
    return out


def sia_run(gen: Generator, target: Target, probes: int) -> Callable[[int], None]:
    """The engine alone: SIA (variant full) on one batch of random probes, t steps."""
    faces = RandomFaces(probes, gen.image_size, gen.attr_names)
    x0, a0 = faces.load_images(range(probes)), faces.attrs
    eps_a = torch.ones(len(gen.attr_names))
    eps_a[gen.attr_names.index("Eyeglasses")] = 0.0  # the target's label is frozen

    def run(t: int) -> None:
        attack(x0, a0, torch.zeros(probes), generator=gen, target=target, task=target.task,
               config=_config(t), eps_a=eps_a)  # fmt: skip

    return run


def audit_run(
    gen: Generator, target: Target, probes: int, baselines: tuple[str, ...], parts: bool = True
) -> Callable[[int], None]:
    """A whole audit as `sia-audit run` makes it (SIA, the attribute effects, the flips, and
    the pixel baselines named), in one batch, without the editability check (it needs an
    attribute classifier), t steps."""
    faces = RandomFaces(probes, gen.image_size, gen.attr_names)

    def run(t: int) -> None:
        config = AuditConfig(
            attack=_config(t),
            baselines=baselines,
            effects=parts,
            flips=parts,
            batch_size=probes,
            bootstrap=BootstrapConfig(resamples=100),
            subpopulations=(),
        )
        audit(faces, gen, target, config)

    return run


CI_PROBES, CI_STEPS = 64, 50  # fairness.yaml's probe count, the `ci` preset's steps


def projected_hours(cost: Cost) -> float:
    """Wall time of a `ci` audit of CI_PROBES probes on this machine, from a measured cost."""
    return CI_PROBES * (CI_STEPS * cost.per_probe_step + cost.fixed_per_probe) / 3600


def main() -> None:
    threads = int(sys.argv[1]) if len(sys.argv) > 1 else 1
    probes = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    steps = int(sys.argv[3]) if len(sys.argv) > 3 else 2
    repeats = int(sys.argv[4]) if len(sys.argv) > 4 else 2
    torch.set_num_threads(threads)
    gen, target = reference_models()
    load = os.getloadavg()[0]
    runs = {
        "sia": sia_run(gen, target, probes),
        # Before the pixel baselines were opt-in, every run paid for FGSM and PGD.
        "before": audit_run(gen, target, probes, ("fgsm", "pgd")),
        "now": audit_run(gen, target, probes, ()),
        # What the fixed cost is made of: the same audit without attribute effects and flips.
        "bare": audit_run(gen, target, probes, (), parts=False),
    }
    cost = _costs(runs, probes, steps, repeats)
    print(
        f"torch {torch.__version__}, {platform.machine()} {torch.backends.cpu.get_cpu_capability()}"
        f", {threads} thread(s) of {os.cpu_count()} cores, load average {load:.2f} before, "
        f"{os.getloadavg()[0]:.2f} after"
    )
    print(
        f"AttGAN {gen.image_size} px ({len(gen.attr_names)} attributes) + ResNet-18 "
        f"{target.contract.input_size[0]} px, {probes} probes in one batch, {steps} vs "
        f"{2 * steps} steps, best of {repeats} interleaved rounds:"
    )
    print(f"  SIA, one step of one probe:              {cost['sia'].per_probe_step:.2f} s")
    for name, what in (("before", "SIA + FGSM + PGD (before)"), ("now", "SIA alone (now)")):
        c = cost[name]
        print(
            f"  audit, {what}: {c.per_probe_step:.2f} s per probe-step, "
            f"{c.fixed_per_probe:.2f} s fixed per probe; a `ci` audit of {CI_PROBES} probes "
            f"x {CI_STEPS} steps: {projected_hours(c):.2f} h on {threads} thread(s)"
        )
    bare = cost["bare"]
    print(f"  audit, SIA alone without effects and flips: {bare.per_probe_step:.2f} s per "
          f"probe-step, {bare.fixed_per_probe:.2f} s fixed per probe")  # fmt: skip
    ratio = projected_hours(cost["before"]) / projected_hours(cost["now"])
    print(f"  before / now, in this run: {ratio:.2f}x")


if __name__ == "__main__":
    main()
