"""The editability block of a report (can the generator draw each attribute?), as printed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sia_audit.formats.figures import Figure, figure
from sia_audit.report_schema import EditabilityBlock, TruthRecord


@dataclass(frozen=True)
class TruthRow:
    """The flip scored against the renderer's true edit (synthfaces only)."""

    gain_db: str  # G's flip minus copying the input, whole image
    region_psnr_db: str
    region_pixels: str
    classifier_on_truth: Figure


@dataclass(frozen=True)
class EditabilityRow:
    attribute: str
    measurable: bool
    expression: Figure
    leakage: Figure
    most_leaked_to: str
    truth: TruthRow | None


@dataclass(frozen=True)
class EditabilityView:
    classifier: str
    min_expression: str
    n: int
    rows: tuple[EditabilityRow, ...]  # lowest expression rate first
    unmeasurable: tuple[EditabilityRow, ...]
    lowest: EditabilityRow  # of the attributes the attack moves (a task's frozen label aside)
    has_truth: bool
    definitions: tuple[tuple[str, str], ...]


def _truth(t: TruthRecord | None) -> TruthRow | None:
    if t is None:
        return None
    on_truth = figure(t.classifier_on_truth, 3)
    assert on_truth is not None
    return TruthRow(
        gain_db=f"{t.gain_db:+.1f}",
        region_psnr_db=f"{t.region_psnr_db:.1f}",
        region_pixels=f"{t.region_pixels:.0f}",
        classifier_on_truth=on_truth,
    )


def editability_view(
    block: EditabilityBlock | None, frozen: Sequence[str] = ()
) -> EditabilityView | None:
    """The view of report.json's `figures.editability` (None: no attribute classifier).

    `frozen` are the attributes the attack never moves (the target's own label): they are
    listed, but the lowest expression rate a report quotes is among the others."""
    if block is None:
        return None
    rows = []
    for name, a in block.attributes.items():
        expression, leakage = figure(a.expression, 3, name), figure(a.leakage, 3, name)
        assert expression is not None and leakage is not None
        rows.append(
            EditabilityRow(
                attribute=name,
                measurable=a.measurable,
                expression=expression,
                leakage=leakage,
                most_leaked_to=a.most_leaked_to or "",
                truth=_truth(a.truth),
            )
        )
    rows.sort(key=lambda r: (float(r.expression.value), r.attribute))
    definitions = [("expression rate", rows[0].expression.definition)]
    definitions.append(("leakage", rows[0].leakage.definition))
    if rows[0].truth is not None:
        definitions.append(
            (
                "against truth",
                "gain: PSNR of G's flip minus PSNR of copying x0, both against the renderer's "
                "true edit, over the whole image (> 0: G draws the edit); region PSNR: G's flip "
                "over the pixels the true edit changes by more than 1/255 (mean pixels per probe "
                "shown); classifier on truth: " + rows[0].truth.classifier_on_truth.definition,
            )
        )
    return EditabilityView(
        classifier=block.classifier,
        min_expression=f"{block.min_expression:g}",
        n=block.n,
        rows=tuple(rows),
        unmeasurable=tuple(r for r in rows if not r.measurable),
        lowest=next((r for r in rows if r.attribute not in frozen), rows[0]),
        has_truth=rows[0].truth is not None,
        definitions=tuple(definitions),
    )
