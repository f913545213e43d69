"""Thresholds from the reports of models a team trusts: the lowest that fails none, plus a margin.

A policy's per-attribute ceilings depend on the task: a truthful No_Beard classifier leans on the
moustache by right, a truthful Eyeglasses one on nothing. So thresholds are set on truthful
models of the task itself: audit two or more of them (other seeds, other architectures) under
the policy, and take for each gate the largest figure any of them shows over the gate's
attributes (its interval's low end when the gate uses confidence) plus a margin for the next
truthful model, which will differ a little (two seeds of one recipe do). No torch here.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sia_audit.errors import DataError, UsageError
from sia_audit.gates.comparable import differing_provenance
from sia_audit.policy.models import Policy
from sia_audit.report_schema import ReportRecord
from sia_audit.report_schema.per_attribute import BY_GATE, PER_ATTRIBUTE

# Margins above the largest truthful figure, per gate. For w, s and the flip rate: the most the
# largest low end moved between two truthful models that differ only in their seed, over the
# validity suite's six held-out rounds (54 checks of one seed's ceilings on another seed's audit;
# eight architectures, six training loops, 256 probes; docs/validity.md), rounded up to the next
# 0.01 (w 0.033, s 0.105, flip rate 0.043). s moves the most between seeds (GoogLeNet: 0.105; every
# other network 0.046 or less). The others were not measured there and keep the spread seen between
# the planted-truth suite's controls.
MARGINS: dict[str, float] = {
    "weighted_sensitivity": 0.04,
    "sensitivity": 0.11,
    "flip_rate": 0.05,
    "attribute_effect": 0.1,
    "path_share": 0.03,
    "sdar": 0.02,
}


@dataclass(frozen=True)
class Calibrated:
    """One gate's suggested ceiling and where it comes from."""

    gate: str
    largest: float  # the largest compared figure over the trusted reports
    report: str  # which report showed it
    attribute: str | None  # and on which attribute (None: SDAR)
    margin: float
    use_confidence: bool

    @property
    def threshold(self) -> float:
        """largest + margin, rounded up to 3 decimals."""
        return math.ceil((self.largest + self.margin) * 1000 - 1e-9) / 1000


def calibrate(
    policy: Policy,
    reports: Sequence[tuple[str, ReportRecord]],
    margins: Mapping[str, float] | None = None,
) -> list[Calibrated]:
    """A suggested ceiling for every per-attribute gate and the SDAR gate the policy has."""
    if not reports:
        raise UsageError("calibrate needs the report.json of at least one trusted model")
    first_name, first = reports[0]
    for name, r in reports[1:]:
        differ = differing_provenance(first.provenance.values, r.provenance.values)
        if differ:
            raise DataError(
                f"{name} is not comparable with {first_name}: {', '.join(differ)} differ; audit "
                "every trusted model with the same policy (probes, generator, attack)"
            )
    margin = {**MARGINS, **(margins or {})}
    out = []
    for gate, figure in BY_GATE.items():
        g = getattr(policy.gates, gate, None)
        if g is None:
            continue
        best: tuple[float, str, str | None] | None = None
        if getattr(g, "normalised", False):  # a sensitivity gate on h
            figure = next(f for f in PER_ATTRIBUTE if f.gate == gate and f.normalised)
        for name, r in reports:
            values = figure.read(r)
            if values is None:
                raise DataError(f"{name} holds no {figure.symbol}: re-run it with this sia-audit")
            for attr in _attributes(g.attributes, values, policy, r):
                e = values[attr]
                v = e.low if g.use_confidence else e.value
                if best is None or v > best[0]:
                    best = (v, name, attr)
        if best is not None:
            out.append(Calibrated(gate, best[0], best[1], best[2], margin[gate], g.use_confidence))
    if (sdar := policy.gates.sdar) is not None:
        sdars = [(name, r.sensitivity.sdar_s if sdar.on == "s" else r.sensitivity.sdar_h)
                 for name, r in reports]  # fmt: skip
        name, e = max(sdars, key=lambda item: item[1].low if sdar.use_confidence else item[1].value)
        v = e.low if sdar.use_confidence else e.value
        out.append(Calibrated("sdar", v, name, None, margin["sdar"], sdar.use_confidence))
    return out


def _attributes(
    which: str | Sequence[str], values: Mapping[str, object], policy: Policy, r: ReportRecord
) -> list[str]:
    """The gate's attributes that the report measured (not frozen, drawn by the generator)."""
    unmeasurable = set(r.sensitivity.unmeasurable)
    if which == "all":
        names = list(values)
    elif which == "protected":
        names = list(policy.protected)
    else:
        names = list(which)
    return [a for a in names if a in values and a not in unmeasurable]


def as_yaml(policy: Policy, rows: Sequence[Calibrated]) -> str:
    """The calibrated gates as a `gates:` fragment, each line saying where its value comes from."""
    lines = ["gates:"]
    for row in rows:
        g = getattr(policy.gates, row.gate)
        extra = f", on: {g.on}" if row.gate == "sdar" else ""
        if getattr(g, "normalised", False):  # the ceiling is on h: pasted, it must stay on h
            extra += ", normalised: true"
        attrs = getattr(g, "attributes", None)
        if attrs is not None:
            listed = attrs if isinstance(attrs, str) else "[" + ", ".join(attrs) + "]"
            extra += f", attributes: {listed}"
        where = row.report + (f", {row.attribute}" if row.attribute else "")
        kind = "low end" if row.use_confidence else "value"
        lines.append(
            f"  {row.gate}: {{max: {row.threshold:g}{extra}, use_confidence: "
            f"{str(row.use_confidence).lower()}}}  # largest {kind} {row.largest:.4f} ({where}) "
            f"+ {row.margin:g}"
        )
    return "\n".join(lines) + "\n"
