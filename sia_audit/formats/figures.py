"""Figure sections of a report (sensitivity, sub-populations, attacks) as printed rows and charts.

Numbers are rounded here, once, for every format; each keeps its interval and the sentence that
defines it (with the attribute or attack name cut, so one definition serves a whole table).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sia_audit.attacks.variants import VARIANTS
from sia_audit.formats.charts import BarChart, BarValue, sensitivity_chart
from sia_audit.report_schema import (
    AttackRecord,
    EstimateRecord,
    GateRecord,
    ReportRecord,
    SubpopulationBlock,
)

CHART_LABEL_CHARS = 20  # longer attribute names are shortened in the chart (tables show them)


@dataclass(frozen=True)
class Figure:
    """A figure as printed: value, interval and the sentence that defines it."""

    value: str
    interval: str
    definition: str


@dataclass(frozen=True)
class SensitivityRow:
    attribute: str
    protected: bool
    s: Figure
    h: Figure | None  # None where the attribute is unmeasurable (left out of h)
    effect: Figure | None
    single: Figure | None
    unmeasurable: bool = False  # the generator cannot draw it (editability check)
    path_share: Figure | None = None  # its share of the attack's first-order loss increase
    weighted: Figure | None = None  # s times its share of the loss increase (metrics.weighted)


@dataclass(frozen=True)
class SensitivityView:
    rows: tuple[SensitivityRow, ...]  # largest headline figure first (w, or s without it)
    chart: BarChart
    excluded: tuple[str, ...]
    unmeasurable: tuple[str, ...]
    has_effect: bool
    has_single: bool
    has_path: bool
    has_protected: bool
    has_weighted: bool  # and it leads: rows in its order, the chart's first panel
    sdar_s: Figure
    sdar_h: Figure
    n: int
    definitions: tuple[tuple[str, str], ...]  # (symbol, definition)
    # False when every histogram attribute is unmeasurable: no h, no SDAR (placeholders only)
    has_histogram: bool = True


@dataclass(frozen=True)
class AttackRow:
    name: str
    main: bool
    eps: str
    steps: str
    cells: tuple[Figure | None, ...]  # one per AttackTable column


@dataclass(frozen=True)
class AttackTable:
    columns: tuple[str, ...]
    rows: tuple[AttackRow, ...]
    clean_accuracy: Figure
    reconstruction_accuracy: Figure


@dataclass(frozen=True)
class GroupColumn:
    label: str
    n: int
    reason: str | None


@dataclass(frozen=True)
class SubpopRow:
    attribute: str
    protected: bool
    cells: tuple[Figure | None, ...]  # one per group column


@dataclass(frozen=True)
class SubpopView:
    attribute: str
    groups: tuple[GroupColumn, ...]
    rows: tuple[SubpopRow, ...]
    sdar: tuple[Figure | None, ...]


def figure(e: EstimateRecord | None, digits: int = 3, name: str = "") -> Figure | None:
    """An estimate as printed; `name` is cut from its definition to make it generic."""
    if e is None:
        return None
    definition = e.definition
    if name:
        definition = definition.replace(f" of {name}", "", 1)
    return Figure(
        value=f"{e.value:.{digits}f}",
        interval=f"[{e.low:.{digits}f}, {e.high:.{digits}f}]",
        definition=definition,
    )


def _threshold(gates: Sequence[GateRecord], gate: str) -> float | None:
    """The max of the policy's per-attribute gate named `gate` (e.g. `sensitivity s`,
    `weighted_sensitivity`), for the chart's line."""
    limits = {
        g.threshold for g in gates if g.gate.startswith(f"{gate}[") and g.threshold is not None
    }
    return min(limits) if limits else None


def _short(name: str) -> str:
    if len(name) <= CHART_LABEL_CHARS:
        return name
    return name[: CHART_LABEL_CHARS - 1] + "…"


def sensitivity_view(report: ReportRecord) -> SensitivityView:
    sens, protected, gates = report.sensitivity, report.protected, report.gates
    effect = {} if report.attribute_effect is None else report.attribute_effect.effect
    path = report.path_attribution
    share = {} if path is None else path.share
    single = {} if report.single_attribute is None else report.single_attribute.s
    weighted = {} if report.weighted_sensitivity is None else report.weighted_sensitivity.w
    unmeasurable = sens.unmeasurable
    # The headline figure orders the rows and draws the first panel: w where the report has it
    # (the planted-truth suite's pick, docs/validity.md), else s; the paper's s stays beside it.
    leads_w = bool(weighted) and all(a in weighted for a in sens.attributes)
    lead = weighted if leads_w else sens.s
    names = sorted(sens.attributes, key=lambda a: -lead[a].value)
    rows = tuple(
        SensitivityRow(
            attribute=a,
            protected=a in protected,
            s=figure(sens.s[a], 3, a),
            h=figure(sens.h.get(a), 3, a),
            effect=figure(effect.get(a), 4, a),
            single=figure(single.get(a), 3, a),
            unmeasurable=a in unmeasurable,
            path_share=figure(share.get(a), 3, a),
            weighted=figure(weighted.get(a), 3, a),
        )
        for a in names
    )

    def values(block: Mapping[str, EstimateRecord]) -> list[BarValue | None]:
        return [
            None if e is None else BarValue(e.value, e.low, e.high)
            for e in (block.get(a) for a in names)
        ]

    s_panel = ("raw s (mean |a_T - a_0|)", values(sens.s), _threshold(gates, "sensitivity s"))
    panels = (
        [
            (
                "w = s × loss share",
                values(weighted),
                _threshold(gates, "weighted_sensitivity"),
            ),
            s_panel,
        ]
        if leads_w
        else [
            s_panel,
            (
                "normalised h = s / Σ s (measurable)",
                values(sens.h),
                _threshold(gates, "sensitivity h"),
            ),
        ]
    )
    chart = sensitivity_chart(
        [_short(a) for a in names],
        panels,
        [a in protected for a in names],
        [a in unmeasurable for a in names],
    )
    h_def = next((r.h.definition for r in rows if r.h is not None), "")
    definitions = [("s", rows[0].s.definition), ("h", h_def)] if rows else []
    if rows and rows[0].weighted is not None:
        definitions.append(("w", rows[0].weighted.definition))
    if rows and rows[0].effect is not None:
        definitions.append(("effect", rows[0].effect.definition))
    if rows and rows[0].single is not None:
        definitions.append(("single-attribute s", rows[0].single.definition))
    if path is not None and rows and rows[0].path_share is not None:
        image = figure(path.image_share, 3)
        assert image is not None
        definitions.append(
            (
                "path share",
                rows[0].path_share.definition + f". The image's own share: {image.value} "
                f"{image.interval}",
            )
        )
    return SensitivityView(
        rows=rows,
        chart=chart,
        excluded=sens.excluded,
        unmeasurable=unmeasurable,
        has_effect=any(r.effect is not None for r in rows),
        has_single=any(r.single is not None for r in rows),
        has_path=any(r.path_share is not None for r in rows),
        has_protected=any(r.protected for r in rows),
        has_weighted=leads_w,
        sdar_s=figure(sens.sdar_s, 4),
        sdar_h=figure(sens.sdar_h, 4),
        n=sens.n,
        definitions=tuple(definitions),
        has_histogram=any(a not in unmeasurable for a in sens.attributes),
    )


ATTACK_COLUMNS = (
    ("robust accuracy", "robust_accuracy", 3),
    ("attack success rate", "attack_success_rate", 3),
    ("PSNR (dB) vs x0", "psnr_x0", 1),
    ("SSIM vs x0", "ssim_x0", 3),
    ("PSNR (dB) vs G(x0, a0)", "psnr_recon", 1),
    ("SSIM vs G(x0, a0)", "ssim_recon", 3),
    ("mean NME", "mean_nme", 4),
    ("failure rate", "failure_rate", 3),
)


def _cell(a: AttackRecord, key: str) -> EstimateRecord | None:
    return getattr(a, key)  # key: one of AttackRecord's estimate fields (ATTACK_COLUMNS)


def attack_table(report: ReportRecord) -> AttackTable:
    """The main attack first, then the pixel baselines; columns only for figures some row has."""
    attacks, main = report.attacks, report.main_attack
    order = [main] + sorted(a for a in attacks if a != main)
    used = [c for c in ATTACK_COLUMNS if any(_cell(attacks[a], c[1]) for a in order)]
    rows = []
    for name in order:
        a = attacks[name]
        # Every attack's config carries the policy's steps; the table says what each one took.
        variant = VARIANTS.get(name)
        steps = a.config.steps if variant is None else variant.steps_taken(a.config.steps)
        rows.append(
            AttackRow(
                name=name,
                main=name == main,
                eps=f"{a.config.eps_x * 255:.3g}/255",
                steps=str(steps),
                cells=tuple(figure(_cell(a, key), digits, name) for _, key, digits in used),
            )
        )
    return AttackTable(
        columns=tuple(c[0] for c in used),
        rows=tuple(rows),
        clean_accuracy=figure(report.clean_accuracy, 3),
        reconstruction_accuracy=figure(report.reconstruction_accuracy, 3),
    )


def subpop_view(sub: SubpopulationBlock, protected: Sequence[str]) -> SubpopView:
    groups = [sub.in_group, sub.out_group]
    sens = [g.sensitivity for g in groups]
    names = next((s.attributes for s in sens if s is not None), ())
    rows = tuple(
        SubpopRow(
            attribute=a,
            protected=a in protected,
            cells=tuple(None if s is None else figure(s.s[a], 3, a) for s in sens),
        )
        for a in names
    )
    return SubpopView(
        attribute=sub.attribute,
        groups=tuple(GroupColumn(g.label, g.n, g.reason) for g in groups),
        rows=rows,
        sdar=tuple(None if s is None else figure(s.sdar_s, 4) for s in sens),
    )
