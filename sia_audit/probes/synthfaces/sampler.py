"""Attribute vectors for synthetic faces: base rates, exclusive hair colours, planted correlations.

A draw first decides which attributes are "on" (the binary label a CelebA file would carry),
then gives each an intensity: on in `on_range`, off in `off_range`. Planted correlations
`A->B@p` set P(B on | A on) = p, which is how biased training sets are made.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import torch
from torch import Tensor

from sia_audit.errors import UsageError
from sia_audit.probes.synthfaces.attributes import ATTRIBUTES, BASE_RATES, HAIR_COLOURS, INDEX

QUANTUM = 1000  # intensities are multiples of 1/1000, so they round-trip through "%.3f" text
_SPEC = re.compile(r"^\s*([A-Za-z_]+)\s*->\s*([A-Za-z_]+)\s*@\s*([0-9]*\.?[0-9]+)\s*$")


def _known(name: str, what: str) -> str:
    if name not in INDEX:
        close = difflib.get_close_matches(name, ATTRIBUTES, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(ATTRIBUTES)}"
        raise UsageError(f"unknown attribute {name!r} in {what}; {hint}")
    return name


@dataclass(frozen=True)
class Correlation:
    """P(effect on | cause on) = p."""

    cause: str
    effect: str
    p: float

    @classmethod
    def parse(cls, spec: str) -> Correlation:
        """Parse 'A->B@p', e.g. 'Eyeglasses->Mustache@0.95'."""
        m = _SPEC.match(spec)
        if m is None:
            raise UsageError(
                f"malformed correlation {spec!r}; write CAUSE->EFFECT@P, "
                "e.g. Eyeglasses->Mustache@0.95"
            )
        cause, effect, p = m.group(1), m.group(2), float(m.group(3))
        _known(cause, f"correlation {spec!r}")
        _known(effect, f"correlation {spec!r}")
        if cause == effect:
            raise UsageError(f"correlation {spec!r} links an attribute to itself; name two")
        if not 0.0 <= p <= 1.0:
            raise UsageError(f"correlation {spec!r} has probability {p}; use a value in [0, 1]")
        return cls(cause, effect, p)


def parse_correlations(specs: Iterable[str]) -> tuple[Correlation, ...]:
    """Parse a list of 'A->B@p' specs, in order (later ones act on the result of earlier ones)."""
    return tuple(Correlation.parse(s) for s in specs)


@dataclass(frozen=True)
class AttributeSampler:
    """Draws attribute vectors (n, 15) in [0, 1] and their binary "on" labels."""

    base_rates: Mapping[str, float] = field(default_factory=lambda: dict(BASE_RATES))
    correlations: tuple[Correlation, ...] = ()
    on_range: tuple[float, float] = (0.7, 1.0)
    off_range: tuple[float, float] = (0.0, 0.1)

    def __post_init__(self) -> None:
        for name, rate in self.base_rates.items():
            _known(name, "base rates")
            if not 0.0 <= rate <= 1.0:
                raise UsageError(f"base rate of {name} is {rate}; use a value in [0, 1]")
        hair = sum(self.base_rates.get(h, BASE_RATES[h]) for h in HAIR_COLOURS)
        if hair > 1.0:
            raise UsageError(
                f"hair-colour base rates sum to {hair:.3f}; they are exclusive, keep the sum <= 1"
            )

    def _rate(self, name: str) -> float:
        return self.base_rates.get(name, BASE_RATES[name])

    def sample(self, n: int, generator: torch.Generator) -> tuple[Tensor, Tensor]:
        """Return (on, values): on is bool (n, K), values float32 (n, K) on the 1/1000 grid."""
        k = len(ATTRIBUTES)
        u = torch.rand((n, k), generator=generator)
        rates = torch.tensor([self._rate(a) for a in ATTRIBUTES])
        on = u < rates
        # Hair colours: one categorical draw, so at most one is on.
        hair_idx = [INDEX[h] for h in HAIR_COLOURS]
        cum = torch.cumsum(torch.tensor([self._rate(h) for h in HAIR_COLOURS]), 0)
        h = torch.rand((n,), generator=generator)
        low = torch.cat([torch.zeros(1), cum[:-1]])
        for j, col in enumerate(hair_idx):
            on[:, col] = (h >= low[j]) & (h < cum[j])
        for c in self.correlations:
            draw = torch.rand((n,), generator=generator)
            rows = on[:, INDEX[c.cause]]
            on[:, INDEX[c.effect]] = torch.where(rows, draw < c.p, on[:, INDEX[c.effect]])
            if c.effect in HAIR_COLOURS:
                set_now = rows & on[:, INDEX[c.effect]]
                for other in HAIR_COLOURS:
                    if other != c.effect:
                        on[set_now, INDEX[other]] = False
        t = torch.rand((n, k), generator=generator)
        lo = torch.where(on, self.on_range[0], self.off_range[0])
        hi = torch.where(on, self.on_range[1], self.off_range[1])
        values = torch.round((lo + (hi - lo) * t) * QUANTUM) / QUANTUM
        return on, values.float()
