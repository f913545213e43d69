"""The per-attribute figures of a saved report, one row each, keyed by the policy's gate name.

What reads "every per-attribute figure" (threshold calibration, the report's tables) reads this
table, so a new figure is one row here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sia_audit.report_schema.figures import EstimateRecord
from sia_audit.report_schema.report import ReportRecord

Values = Mapping[str, EstimateRecord]


@dataclass(frozen=True)
class AttributeFigure:
    """One per-attribute figure: its gate in a policy, its symbol, and how a report holds it."""

    gate: str  # the key under `gates:` (weighted_sensitivity, sensitivity, flip_rate, ...)
    symbol: str  # as printed: w, s, flip rate, ...
    read: Callable[[ReportRecord], Values | None]  # None: the report does not hold it


def _w(r: ReportRecord) -> Values | None:
    return None if r.weighted_sensitivity is None else r.weighted_sensitivity.w


def _flip_rate(r: ReportRecord) -> Values | None:
    return None if r.counterfactual_flips is None else r.counterfactual_flips.rate


def _effect(r: ReportRecord) -> Values | None:
    return None if r.attribute_effect is None else r.attribute_effect.effect


def _path_share(r: ReportRecord) -> Values | None:
    return None if r.path_attribution is None else r.path_attribution.share


PER_ATTRIBUTE: tuple[AttributeFigure, ...] = (
    AttributeFigure("weighted_sensitivity", "w", _w),
    AttributeFigure("sensitivity", "s", lambda r: r.sensitivity.s),
    AttributeFigure("flip_rate", "flip rate", _flip_rate),
    AttributeFigure("attribute_effect", "effect", _effect),
    AttributeFigure("path_share", "path share", _path_share),
)
BY_GATE = {f.gate: f for f in PER_ATTRIBUTE}
