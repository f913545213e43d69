"""The attack configuration: one frozen, validated record that reports carry as provenance."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from sia_audit import defaults
from sia_audit.attacks.variants import get_variant
from sia_audit.defaults import PRESET, PRESETS
from sia_audit.errors import UsageError


def _bad(field: str, value: object, want: str) -> UsageError:
    return UsageError(f"attack config {field}={value!r} is invalid; use {want}")


def _check_int(field: str, value: object, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise _bad(field, value, f"an integer >= {minimum}")


def _check_float(field: str, value: object) -> None:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value < 0
    ):
        raise _bad(field, value, "a finite number >= 0 (image units: 1/255 is one grey level)")


_START = PRESETS[PRESET]  # where AttackConfig's step schedule starts: the default preset


@dataclass(frozen=True)
class AttackConfig:
    """Hyper-parameters of one attack, in [0, 1] image units.

    The defaults are those of a policy that sets nothing (sia_audit/defaults.py): the `ci`
    preset's step schedule. `AttackConfig.preset("paper", ...)` is the paper's. Per-attribute
    radii and the single-attribute update mask are not part of it: they depend on the
    generator's attribute list and are passed to the engine as tensors.
    """

    variant: str = defaults.VARIANT
    steps: int = int(_START["steps"])
    eta_x: float = _START["eta_x"]
    eta_a: float = _START["eta_a"]
    eps_x: float = _START["eps_x"]
    partial_steps: int = int(_START["partial_steps"])
    random_start: bool = False
    seed: int = 0
    autocast_bf16: bool = defaults.AUTOCAST_BF16
    channels_last: bool = False

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> AttackConfig:
        """The named preset's step schedule (`ci` or `paper`), with `overrides` on top."""
        if name not in PRESETS:
            raise UsageError(f"unknown attack preset {name!r}; use one of {', '.join(PRESETS)}")
        return cls(**{**PRESETS[name], **overrides})

    def __post_init__(self) -> None:
        variant = get_variant(self.variant)
        _check_int("steps", self.steps, 1)
        _check_int("partial_steps", self.partial_steps, 0)
        _check_int("seed", self.seed, 0)
        for name in ("eta_x", "eta_a", "eps_x"):
            _check_float(name, getattr(self, name))
        for name in ("random_start", "autocast_bf16", "channels_last"):
            if not isinstance(getattr(self, name), bool):
                raise _bad(name, getattr(self, name), "true or false")
        if variant.is_partial and self.partial_steps > self.steps:
            raise _bad(
                "partial_steps",
                self.partial_steps,
                f"at most steps={self.steps} for {variant.name}",
            )
        if self.random_start and variant.one_step:
            # One step from x0 has no start to randomise; ignoring it would mislabel a report.
            raise _bad(
                "random_start", True, f"false for {variant.name} (it takes one step from x0)"
            )

    def as_dict(self) -> dict[str, Any]:
        """Plain JSON-ready field values, for report provenance and baseline hashing."""
        return asdict(self)
