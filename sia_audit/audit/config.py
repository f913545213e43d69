"""How to audit: the attacks, the batch plan, the device, and the attribute radii."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor

from sia_audit import defaults
from sia_audit.attacks.config import AttackConfig
from sia_audit.attacks.variants import check_plan
from sia_audit.errors import UsageError
from sia_audit.generators.interface import Generator
from sia_audit.metrics import BootstrapConfig
from sia_audit.targets.contract import Target

Progress = Callable[[str, int], None]  # (stage, probes done in this call)
Batches = Sequence[int]  # first probe index of each batch, in probe order


@dataclass(frozen=True)
class AuditConfig:
    """How to audit: the main attack, the baselines at the same eps, and what to measure.

    The defaults are a policy's that sets nothing (sia_audit/defaults.py), so `AuditConfig()`
    audits as `sia-audit run` does on an empty policy.
    """

    attack: AttackConfig = field(default_factory=AttackConfig)
    baselines: tuple[str, ...] = defaults.BASELINES
    batch_size: int = defaults.BATCH_SIZE
    device: str = "auto"
    bootstrap: BootstrapConfig = field(default_factory=BootstrapConfig)
    # Per-attribute radius overrides; the target's own label attribute is frozen (0) by default.
    radii: Mapping[str, float] = field(default_factory=dict)
    subpopulations: tuple[str, ...] = defaults.SUBPOPULATIONS
    effects: bool = True
    # Counterfactual flips of every attribute on the probes themselves (the main attack's batch).
    flips: bool = True
    single_attribute: bool = False
    gallery: int = 8
    # Execution options that leave the maths alone (figures equal up to float rounding):
    # torch.compile of G and f, and CUDA graphs on top of it (attacks/acceleration.py).
    torch_compile: bool = defaults.TORCH_COMPILE
    cuda_graphs: bool = defaults.CUDA_GRAPHS
    # Editability: attributes whose expression rate falls below this are unmeasurable.
    min_expression: float = defaults.MIN_EXPRESSION

    def __post_init__(self) -> None:
        check_plan(self.attack.variant, self.baselines)
        if self.cuda_graphs and not self.torch_compile:
            raise UsageError("cuda_graphs needs torch_compile; turn both on")
        if self.batch_size < 1:
            raise UsageError(f"batch_size must be at least 1, got {self.batch_size}")
        if self.device not in ("auto", "cpu", "cuda") and not self.device.startswith("cuda:"):
            raise UsageError(f"device must be auto, cpu or cuda[:N], got {self.device!r}")

    @property
    def attacks(self) -> tuple[str, ...]:
        """Every attack an audit runs: the main one first, then the baselines."""
        return (self.attack.variant, *self.baselines)


def resolve_device(name: str) -> torch.device:
    """`auto` picks CUDA when a GPU is present, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UsageError("device cuda was asked for but no GPU is available; use --device cpu")
    return device


def attribute_radii(generator: Generator, target: Target, radii: Mapping[str, float]) -> Tensor:
    """eps_a per generator attribute: 1 (only the box) unless frozen or overridden.

    The target's own label attributes (its task says which) are frozen by default: moving
    them would change the truth, not find a shortcut.
    """
    names = generator.attr_names
    unknown = [n for n in radii if n not in names]
    if unknown:
        raise UsageError(
            f"radius given for unknown attributes {unknown}; the generator has {names}"
        )
    eps = torch.ones(len(names))
    for label in target.task.frozen_attributes():
        if label in names:
            eps[names.index(label)] = 0.0
    for name, value in radii.items():
        if not 0.0 <= value <= 1.0:
            raise UsageError(f"radius of {name} is {value}; use a value in [0, 1]")
        eps[names.index(name)] = value
    return eps


def plan_batches(n: int, batch_size: int, rank: int = 0, world: int = 1) -> list[int]:
    """The batches (by first probe index) that `rank` of `world` attacks: every world-th one.

    Whole batches are dealt out, so each probe is attacked in the same batch, with the same
    numbers, as in a single-process run; round-robin keeps the shards within a batch of each
    other in size.
    """
    return list(range(0, n, batch_size))[rank::world]
