"""The result type of every reported figure: a value with its interval, sample size and meaning."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any


class EmptyMetricError(ValueError):
    """A figure asked of no probes (or, for ASR, of no probe the target got right on x0)."""


@dataclass(frozen=True)
class Estimate:
    """A figure with its bootstrap interval [low, high] at confidence `level` over `n` probes.

    `definition` is one sentence a report prints under the number. Values are always finite, so
    the JSON report needs no special cases. With n = 1 the interval is the value itself.
    """

    value: float
    low: float
    high: float
    n: int
    level: float
    definition: str

    def __post_init__(self) -> None:
        for name in ("value", "low", "high"):
            if not math.isfinite(getattr(self, name)):
                raise ValueError(f"Estimate.{name} must be finite, got {getattr(self, name)}")

    @property
    def has_interval(self) -> bool:
        """False when the interval is only the value repeated (fewer than 2 probes)."""
        return self.n >= 2

    def excludes(self, x: float) -> bool:
        """True when the whole interval lies on one side of x (strictly)."""
        return self.low > x or self.high < x

    def as_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "low": self.low,
            "high": self.high,
            "n": self.n,
            "level": self.level,
            "definition": self.definition,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Estimate:
        """Read back `as_dict()` output, e.g. from a baseline report."""
        return cls(
            value=float(d["value"]),
            low=float(d["low"]),
            high=float(d["high"]),
            n=int(d["n"]),
            level=float(d["level"]),
            definition=str(d["definition"]),
        )
