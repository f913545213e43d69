"""Geometry of the report's vector charts, computed here so the SVG template only draws.

The sensitivity chart is one SVG: attribute names on the left, then one panel per figure (raw
s and normalised h), a bar per attribute with its bootstrap interval as a whisker, protected
attributes drawn in a second colour, and a gate's threshold as a dashed line when one applies.
Coordinates are SVG user units; the SVG scales to the page width in HTML and PDF alike.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

ROW = 18.0  # height of one attribute's row
BAR = 11.0  # bar thickness within a row
LABEL_W = 160.0  # attribute-name column
PANEL_W = 250.0  # width of one panel's plotting area
GAP = 40.0  # between panels
TOP = 34.0  # panel title and tick labels above the first row
BOTTOM = 8.0


@dataclass(frozen=True)
class BarValue:
    """One attribute's figure: the value and its interval, in data units."""

    value: float
    low: float
    high: float


@dataclass(frozen=True)
class Bar:
    """One drawn bar with its whisker (interval), in SVG units."""

    y: float
    width: float
    low_x: float
    high_x: float
    mid_y: float
    protected: bool
    tooltip: str
    unmeasurable: bool = False  # drawn hatched in grey: the generator cannot draw it


@dataclass(frozen=True)
class Tick:
    x: float
    label: str


@dataclass(frozen=True)
class Panel:
    """One panel of bars (e.g. raw s) placed at `x` with its own axis."""

    title: str
    x: float
    width: float
    bars: tuple[Bar, ...]
    ticks: tuple[Tick, ...]
    threshold_x: float | None
    threshold_label: str


@dataclass(frozen=True)
class RowLabel:
    y: float
    text: str
    protected: bool
    unmeasurable: bool = False


@dataclass(frozen=True)
class BarChart:
    """Everything the SVG template needs: size, row labels and panels."""

    width: float
    height: float
    plot_top: float
    plot_bottom: float
    labels: tuple[RowLabel, ...]
    panels: tuple[Panel, ...]
    has_unmeasurable: bool = False


def nice_step(span: float, target_ticks: int = 4) -> float:
    """A round tick spacing (1, 2 or 5 times a power of ten) giving about `target_ticks` ticks."""
    if span <= 0:
        return 1.0
    raw = span / target_ticks
    power = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if m * power >= raw:
            return m * power
    return 10 * power


def _axis_max(values: Sequence[BarValue], threshold: float | None) -> float:
    top = max([v.high for v in values] + [v.value for v in values] + [threshold or 0.0] + [0.0])
    if top <= 0:
        return 1.0
    step = nice_step(top)
    return math.ceil(top * 1.0001 / step) * step


def _tick_label(x: float, step: float) -> str:
    decimals = max(0, -math.floor(math.log10(step))) if step < 1 else 0
    return f"{x:.{decimals}f}"


def _panel(
    title: str,
    x0: float,
    values: Sequence[BarValue | None],
    protected: Sequence[bool],
    names: Sequence[str],
    threshold: float | None,
    unmeasurable: Sequence[bool],
) -> Panel:
    top = _axis_max([v for v in values if v is not None], threshold)
    step = nice_step(top)
    scale = PANEL_W / top

    def px(v: float) -> float:
        return round(x0 + max(0.0, min(v, top)) * scale, 2)

    bars = []
    rows = zip(values, protected, names, unmeasurable, strict=True)
    for i, (v, prot, name, unmeas) in enumerate(rows):
        if v is None:  # not defined for this attribute (h of an unmeasurable one): no bar
            continue
        y = TOP + i * ROW + (ROW - BAR) / 2
        bars.append(
            Bar(
                y=round(y, 2),
                width=round(px(v.value) - x0, 2),
                low_x=px(v.low),
                high_x=px(v.high),
                mid_y=round(y + BAR / 2, 2),
                protected=prot,
                tooltip=f"{name}: {v.value:.4f} [{v.low:.4f}, {v.high:.4f}]"
                + (" (unmeasurable with this generator)" if unmeas else ""),
                unmeasurable=unmeas,
            )
        )
    n_ticks = int(round(top / step))
    ticks = tuple(Tick(px(k * step), _tick_label(k * step, step)) for k in range(n_ticks + 1))
    return Panel(
        title=title,
        x=x0,
        width=PANEL_W,
        bars=tuple(bars),
        ticks=ticks,
        threshold_x=None if threshold is None else px(threshold),
        threshold_label="" if threshold is None else f"gate max {threshold:g}",
    )


def sensitivity_chart(
    names: Sequence[str],
    panels: Sequence[tuple[str, Sequence[BarValue | None], float | None]],
    protected: Sequence[bool],
    unmeasurable: Sequence[bool] | None = None,
) -> BarChart:
    """Rows `names` (already in display order); one panel per (title, values, threshold).

    A value of None draws no bar in its row; `unmeasurable` rows are drawn hatched in grey.
    """
    unmeas = list(unmeasurable) if unmeasurable is not None else [False] * len(names)
    labels = tuple(
        RowLabel(round(TOP + i * ROW + ROW / 2, 2), n, p, u)
        for i, (n, p, u) in enumerate(zip(names, protected, unmeas, strict=True))
    )
    built = tuple(
        _panel(title, LABEL_W + k * (PANEL_W + GAP), values, protected, names, threshold, unmeas)
        for k, (title, values, threshold) in enumerate(panels)
    )
    width = LABEL_W + len(panels) * PANEL_W + (len(panels) - 1) * GAP + 20
    plot_bottom = TOP + len(names) * ROW
    return BarChart(
        width=width,
        height=plot_bottom + BOTTOM,
        plot_top=TOP,
        plot_bottom=plot_bottom,
        labels=labels,
        panels=built,
        has_unmeasurable=any(unmeas),
    )
