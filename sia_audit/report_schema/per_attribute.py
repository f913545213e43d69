"""The per-attribute figures of a report, one row each: what the report's table shows, what a
policy can gate, and where a report (or an audit's result) holds it.

Everything that reads "every per-attribute figure" (threshold gates, the report's table and
chart, threshold calibration) reads this table, so a new figure is one row here; audit.figures
computes the figures that are not s, under the same block names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from sia_audit import defaults
from sia_audit.report_schema.figures import EstimateRecord
from sia_audit.report_schema.report import ReportRecord

Values = Mapping[str, EstimateRecord]


@dataclass(frozen=True)
class AttributeFigure:
    """One per-attribute figure."""

    key: str  # short name: w, s, h, flip_rate, ...
    block: str  # its block under report.json's `figures` (and audit.figures)
    values: str  # the key (or result attribute) of its estimates within the block
    symbol: str  # as printed in a table heading
    label: str  # as printed over a chart panel
    title: str  # what it is, in a line (a heading's tooltip)
    digits: int
    gate: str | None = None  # the policy's threshold gate on it (a key under `gates:`)
    verdict: str | None = None  # how its gates are named in verdicts: VERDICT[attribute]
    missing: str = "not measured in this audit"  # why a gate on it is skipped without it
    normalised: bool = False  # the `sensitivity` gate with `normalised: true` gates this one

    def read(self, report: ReportRecord) -> Values | None:
        """Its estimates by attribute in a saved report; None where the report has none."""
        block = report.block(self.block)
        return None if block is None else block.get(self.values)


PER_ATTRIBUTE: tuple[AttributeFigure, ...] = (
    AttributeFigure(
        "push", "counterfactual_flips", "push", "push", "push (one way, over the faces)",
        "how consistently flipping it alone moves the answer one way (toward or away from the "
        f"positive class), each face in full from a loss change of {defaults.PUSH_MOVE:g} on", 3,
    ),
    AttributeFigure(
        "moved", "counterfactual_flips", "moved", "moved", "moved share (faces one flip moves)",
        "the share of faces whose loss flipping it alone moves, each in full from a change of "
        f"{defaults.MOVE:g} on", 3,
    ),
    AttributeFigure(
        "w", "weighted_sensitivity", "w", "w", "w = s × loss share",
        "s times its share of the attack's loss increase", 3, "weighted_sensitivity",
        "weighted_sensitivity", "no weighted sensitivity: no effects, or no loss increase",
    ),
    AttributeFigure(
        "flip_rate", "counterfactual_flips", "rate", "flip rate",
        "flip rate (answers one flip changes)", "how often flipping it alone in the "
        "generator's input changes whether the target is right", 3, "flip_rate", "flip_rate",
        "counterfactual flips were not measured in this audit",
    ),
    AttributeFigure(
        "s", "sensitivity", "s", "s", "raw s (mean |a_T - a_0|)",
        "the paper's sensitivity: how far the attack moved it", 3, "sensitivity",
        "sensitivity s",
    ),
    AttributeFigure(
        "h", "sensitivity", "h", "h", "normalised h = s / Σ s (measurable)",
        "s over the sum of s", 3, "sensitivity", "sensitivity h", normalised=True,
    ),
    AttributeFigure(
        "effect", "attribute_effect", "effect", "effect", "effect (loss drop)",
        "the loss drop when its change alone is undone", 4, "attribute_effect",
        "attribute_effect", "the attribute effect was not computed",
    ),
    AttributeFigure(
        "single", "single_attribute", "s", "single-attribute s", "single-attribute s",
        "s when the attack moves it alone", 3,
    ),
    AttributeFigure(
        "path_share", "path_attribution", "share", "path share", "path share",
        "its share of the attack's first-order loss increase", 3, "path_share", "path_share",
        "no path attribution: the attack raised no loss",
    ),
    AttributeFigure(
        "flip_loss", "counterfactual_flips", "loss", "flip loss", "flip loss",
        "the mean change of the target's loss when it alone is flipped", 3,
    ),
)  # fmt: skip
BY_KEY = {f.key: f for f in PER_ATTRIBUTE}
BY_GATE = {f.gate: f for f in PER_ATTRIBUTE if f.gate is not None and not f.normalised}

# The figure a report leads with (orders its table, draws the chart's first panel, heads the
# summary): the first of these that the report holds for every attribute it did not leave out.
# The push and the moved share ask the target directly (flip one attribute through the
# generator, see how it answers); the push (binary targets) counts only moves that go one way,
# so a large change of the image that moves the answer both ways does not lead. On the held-out
# suite's models of other architectures and training loops they ranked planted shortcuts first
# more often than the flip rate, SIA's w and s (docs/validity.md). A flip that redraws the label
# (Bald or Young on a hair colour) is left out of the flip figures (audit.figures), so it sorts
# last. Other targets, and reports written before the push, lead with the moved share; reports
# before that with the flip rate. The paper's s stays beside it.
HEADLINE = ("push", "moved", "flip_rate", "w", "s")
# Where the headline ties (the flip rate is a count over the probes), the order falls to this
# figure of the same flips.
TIEBREAK = {"push": "flip_loss", "moved": "flip_loss", "flip_rate": "flip_loss"}


def headline(report: ReportRecord) -> AttributeFigure:
    """The figure this report leads with."""
    names = report.sensitivity.attributes
    for key in HEADLINE:
        figure = BY_KEY[key]
        values = figure.read(report)
        if not values:
            continue
        left_out = set(getattr(report.block(figure.block), "excluded", ()))
        if all(a in values or a in left_out for a in names):
            return figure
    return BY_KEY["s"]


def lead_order(value: float | None, tiebreak: float | None = None) -> tuple[bool, float, float]:
    """Sort key of an attribute in the lead's order, the one rule the report, the summary and
    the demo share: largest value first, ties broken by the tie-break figure (largest first, 0
    where there is none); an attribute without a value after every one with."""
    if value is None:
        return (True, 0.0, 0.0)
    return (False, -value, -(tiebreak or 0.0))


def ordered(report: ReportRecord, lead: AttributeFigure) -> list[str]:
    """The report's attributes, largest `lead` first (its tie-break figure next); those it
    holds no value for last, in the report's order."""
    first = lead.read(report) or {}
    second = BY_KEY[TIEBREAK[lead.key]].read(report) or {} if lead.key in TIEBREAK else {}

    def key(a: str) -> tuple[bool, float, float]:
        then = second[a].value if a in second else None
        return lead_order(first[a].value if a in first else None, then)

    return sorted(report.sensitivity.attributes, key=key)
