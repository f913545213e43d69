"""Figure sections of a report (sensitivity, sub-populations, attacks) as printed rows and charts.

Numbers are rounded here, once, for every format; each keeps its interval and the sentence that
defines it (with the attribute or attack name cut, so one definition serves a whole table).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import overload

from sia_audit import defaults
from sia_audit.attacks.variants import VARIANTS
from sia_audit.formats.charts import BarChart, BarValue, sensitivity_chart
from sia_audit.report_schema import (
    AttackRecord,
    EstimateRecord,
    GateRecord,
    ReportRecord,
    SubpopulationBlock,
)
from sia_audit.report_schema.per_attribute import (
    BY_KEY,
    PER_ATTRIBUTE,
    AttributeFigure,
    headline,
    ordered,
)

CHART_LABEL_CHARS = 20  # longer attribute names are shortened in the chart (tables show them)


@dataclass(frozen=True)
class Figure:
    """A figure as printed: value, interval and the sentence that defines it."""

    value: str
    interval: str
    definition: str


@dataclass(frozen=True)
class Column:
    """A per-attribute figure the table shows (report_schema.per_attribute)."""

    key: str
    symbol: str
    title: str


@dataclass(frozen=True)
class SensitivityRow:
    attribute: str
    protected: bool
    unmeasurable: bool  # the generator cannot draw it (editability check)
    figures: Mapping[str, Figure | None]  # by column key; None where it has no value (h)
    # Which way turning it on moves a binary target's answer ("toward Eyeglasses", "away from
    # Eyeglasses"); "" where the report holds no push for it.
    toward: str = ""

    @property
    def s(self) -> Figure:
        figure = self.figures["s"]
        assert figure is not None
        return figure


@dataclass(frozen=True)
class SensitivityView:
    rows: tuple[SensitivityRow, ...]  # largest headline figure first
    columns: tuple[Column, ...]  # the figures the report holds, the headline first
    lead: Column  # the headline figure: orders the rows, draws the chart's first panel
    chart: BarChart
    excluded: tuple[str, ...]
    unmeasurable: tuple[str, ...]
    has_protected: bool
    sdar_s: Figure
    sdar_h: Figure
    n: int
    definitions: tuple[tuple[str, str], ...]  # (symbol, definition)
    # False when every histogram attribute is unmeasurable: no h, no SDAR (placeholders only)
    has_histogram: bool = True
    # The flips' attributes left out because their flip redraws the label: (name, mean move)
    label_leak: tuple[tuple[str, str], ...] = ()
    max_label_leak: str = f"{defaults.MAX_LABEL_LEAK:g}"


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


@overload
def figure(e: EstimateRecord, digits: int = 3, name: str = "") -> Figure: ...
@overload
def figure(e: EstimateRecord | None, digits: int = 3, name: str = "") -> Figure | None: ...
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
    """The per-attribute table and chart: every figure of PER_ATTRIBUTE the report holds."""
    sens, protected, gates = report.sensitivity, report.protected, report.gates
    unmeasurable = sens.unmeasurable
    lead = headline(report)
    held = [(f, v) for f in PER_ATTRIBUTE if (v := f.read(report))]
    held.sort(key=lambda item: item[0] is not lead)  # the headline first, the rest in order
    names = ordered(report, lead)
    toward = push_directions(report)
    rows = tuple(
        SensitivityRow(
            attribute=a,
            protected=a in protected,
            unmeasurable=a in unmeasurable,
            figures={f.key: figure(values.get(a), f.digits, a) for f, values in held},
            toward=toward.get(a, ""),
        )
        for a in names
    )

    def panel(f: AttributeFigure) -> tuple[str, list[BarValue | None], float | None]:
        values = f.read(report) or {}
        bars = [None if (e := values.get(a)) is None else BarValue(e.value, e.low, e.high)
                for a in names]  # fmt: skip
        return f.label, bars, None if f.verdict is None else _threshold(gates, f.verdict)

    second = BY_KEY["h"] if lead.key == "s" else BY_KEY["s"]  # the paper's s beside the lead
    chart = sensitivity_chart(
        [_short(a) for a in names],
        [panel(lead), panel(second)],
        [a in protected for a in names],
        [a in unmeasurable for a in names],
    )
    definitions = []
    for f, _ in held:
        first = next((r.figures[f.key] for r in rows if r.figures[f.key] is not None), None)
        if first is None:
            continue
        text = first.definition
        block = report.block(f.block)
        scalars = getattr(block, "scalars", {})
        if f.values == "share" and "image_share" in scalars:  # the image's own path share
            image = figure(scalars["image_share"], 3)
            assert image is not None
            text = f"{text.rstrip('.')}. The image's own share: {image.value} {image.interval}"
        definitions.append((f.symbol, text))
    return SensitivityView(
        rows=rows,
        columns=tuple(Column(f.key, f.symbol, f.title) for f, _ in held),
        lead=Column(lead.key, lead.symbol, lead.title),
        chart=chart,
        excluded=sens.excluded,
        unmeasurable=unmeasurable,
        has_protected=any(r.protected for r in rows),
        sdar_s=figure(sens.sdar_s, 4),
        sdar_h=figure(sens.sdar_h, 4),
        n=sens.n,
        definitions=tuple(definitions),
        has_histogram=any(a not in unmeasurable for a in sens.attributes),
        label_leak=_label_leak(report),
    )


def push_directions(report: ReportRecord) -> dict[str, str]:
    """Per attribute with a push: which way turning it on moves the answer, in words (the
    label is a binary target's one frozen attribute)."""
    block = report.block(BY_KEY["push"].block)
    signs = getattr(block, "push_toward", {})
    frozen = report.sensitivity.excluded
    label = frozen[0] if len(frozen) == 1 else "the positive class"
    return {a: f"toward {label}" if v > 0 else f"away from {label}" for a, v in signs.items()}


def _label_leak(report: ReportRecord) -> tuple[tuple[str, str], ...]:
    """The attributes the flip figures left out because their flip moves the label."""
    block = report.block(BY_KEY["flip_rate"].block)
    leak = getattr(block, "label_leak", {})
    return tuple((a, f"{v:.3f}") for a, v in sorted(leak.items(), key=lambda kv: -kv[1]))


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
