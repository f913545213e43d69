"""The per-attribute figures of a saved report, one row each: what the report's table shows,
what a policy can gate, and how a saved report holds it.

Everything that reads "every per-attribute figure" (the report's table and chart, threshold
calibration) reads this table, so a new figure is one row here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from sia_audit.report_schema.figures import EstimateRecord
from sia_audit.report_schema.report import ReportRecord

Values = Mapping[str, EstimateRecord]


@dataclass(frozen=True)
class AttributeFigure:
    """One per-attribute figure of a report."""

    key: str  # short name: w, s, h, flip_rate, ...
    symbol: str  # as printed in a table heading
    label: str  # as printed over a chart panel
    title: str  # what it is, in a line (a heading's tooltip)
    digits: int
    read: Callable[[ReportRecord], Values | None]  # None: the report does not hold it
    gate: str | None = None  # the policy's threshold gate on it (a key under `gates:`)
    verdict: str | None = None  # how its gates are named in verdicts: VERDICT[attribute]


def _block(name: str, values: str) -> Callable[[ReportRecord], Values | None]:
    def read(r: ReportRecord) -> Values | None:
        block = getattr(r, name)
        return None if block is None else getattr(block, values)

    return read


PER_ATTRIBUTE: tuple[AttributeFigure, ...] = (
    AttributeFigure(
        "w", "w", "w = s × loss share", "s times its share of the attack's loss increase", 3,
        _block("weighted_sensitivity", "w"), "weighted_sensitivity", "weighted_sensitivity",
    ),
    AttributeFigure(
        "flip_rate", "flip rate", "flip rate (answers one flip changes)",
        "how often flipping it alone in the generator's input changes whether the target is "
        "right", 3, _block("counterfactual_flips", "rate"), "flip_rate", "flip_rate",
    ),
    AttributeFigure(
        "s", "s", "raw s (mean |a_T - a_0|)", "the paper's sensitivity: how far the attack "
        "moved it", 3, lambda r: r.sensitivity.s, "sensitivity", "sensitivity s",
    ),
    AttributeFigure(
        "h", "h", "normalised h = s / Σ s (measurable)", "s over the sum of s", 3,
        lambda r: r.sensitivity.h, None, "sensitivity h",
    ),
    AttributeFigure(
        "effect", "effect", "effect (loss drop)", "the loss drop when its change alone is "
        "undone", 4, _block("attribute_effect", "effect"), "attribute_effect",
        "attribute_effect",
    ),
    AttributeFigure(
        "single", "single-attribute s", "single-attribute s", "s when the attack moves it "
        "alone", 3, _block("single_attribute", "s"),
    ),
    AttributeFigure(
        "path_share", "path share", "path share", "its share of the attack's first-order "
        "loss increase", 3, _block("path_attribution", "share"), "path_share", "path_share",
    ),
    AttributeFigure(
        "flip_loss", "flip loss", "flip loss", "the mean change of the target's loss when it "
        "alone is flipped", 3, _block("counterfactual_flips", "loss"),
    ),
)  # fmt: skip
BY_KEY = {f.key: f for f in PER_ATTRIBUTE}
BY_GATE = {f.gate: f for f in PER_ATTRIBUTE if f.gate is not None}

# The figure a report leads with (orders its table, draws the chart's first panel, heads the
# summary): the first of these that the report holds for every attribute. The paper's s
# stays beside it.
HEADLINE = ("w", "s")


def headline(report: ReportRecord) -> AttributeFigure:
    """The figure this report leads with."""
    names = report.sensitivity.attributes
    for key in HEADLINE:
        values = BY_KEY[key].read(report)
        if values is not None and all(a in values for a in names):
            return BY_KEY[key]
    return BY_KEY["s"]
