"""Attacks: SIA and its ablations through a generator, FGSM/PGD on pixels, attribute effects
and counterfactual flips.

The variant table and the attack config load without torch (report rendering reads the table);
the engine and the attacks themselves are imported on first use.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from sia_audit.attacks.config import AttackConfig
from sia_audit.attacks.variants import (
    GENERATOR_VARIANTS,
    PIXEL_VARIANTS,
    VARIANTS,
    Variant,
    get_variant,
    variant_names,
)

if TYPE_CHECKING:
    from sia_audit.attacks.effects import per_probe_effects, per_probe_flips
    from sia_audit.attacks.engine import AttackBatch, StepHook, attack
    from sia_audit.attacks.pixel import fgsm, pgd

# Names that need torch, by the module that defines them.
_LAZY = {
    "per_probe_effects": "effects",
    "per_probe_flips": "effects",
    "AttackBatch": "engine",
    "StepHook": "engine",
    "attack": "engine",
    "fgsm": "pixel",
    "pgd": "pixel",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"{__name__}.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "GENERATOR_VARIANTS",
    "PIXEL_VARIANTS",
    "VARIANTS",
    "AttackBatch",
    "AttackConfig",
    "StepHook",
    "Variant",
    "attack",
    "per_probe_effects",
    "per_probe_flips",
    "fgsm",
    "get_variant",
    "pgd",
    "variant_names",
]
