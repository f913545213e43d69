"""Attacks: SIA and its ablations through a generator, FGSM/PGD on pixels, attribute effects
and counterfactual flips."""

from __future__ import annotations

from sia_audit.attacks.config import AttackConfig
from sia_audit.attacks.effects import per_probe_effects, per_probe_flips
from sia_audit.attacks.engine import AttackBatch, StepHook, attack
from sia_audit.attacks.pixel import fgsm, pgd
from sia_audit.attacks.variants import (
    GENERATOR_VARIANTS,
    PIXEL_VARIANTS,
    VARIANTS,
    Variant,
    get_variant,
    variant_names,
)

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
