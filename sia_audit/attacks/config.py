"""The attack configuration: one frozen, validated record that reports carry as provenance."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any

from sia_audit.attacks.variants import get_variant
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


@dataclass(frozen=True)
class AttackConfig:
    """Hyper-parameters of one attack (SPEC section 5), in [0, 1] image units.

    Per-attribute radii and the single-attribute update mask are not part of it: they depend on
    the generator's attribute list and are passed to the engine as tensors.
    """

    variant: str = "full"
    steps: int = 200
    eta_x: float = 0.25 / 255
    eta_a: float = 0.25 / 255
    eps_x: float = 1.5 / 255
    partial_steps: int = 20
    random_start: bool = False
    seed: int = 0
    autocast_bf16: bool = False
    channels_last: bool = False

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


# Named settings of the step schedule. `paper` is the paper's own (T = 200, eta 0.25/255, the
# AttackConfig defaults); `ci` moves as far in total (T * eta) in a quarter of the steps, which
# is what a gate run on every pull request can afford (SPEC 6a: the same budget at 4x speed).
# A policy starts from `ci` unless it names another preset; any key it sets wins.
PRESETS: dict[str, dict[str, int | float]] = {
    "paper": {"steps": 200, "eta_x": 0.25 / 255, "eta_a": 0.25 / 255, "eps_x": 1.5 / 255,
              "partial_steps": 20},
    "ci": {"steps": 50, "eta_x": 1 / 255, "eta_a": 1 / 255, "eps_x": 1.5 / 255,
           "partial_steps": 20},
}  # fmt: skip
DEFAULT_PRESET = "ci"
