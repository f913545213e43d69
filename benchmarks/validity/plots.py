"""PNG charts of the validity benchmarks, drawn with Pillow (the project has no matplotlib).

Two kinds: grouped horizontal bars with interval whiskers (sensitivity histograms of several
probe subsets), and lines with interval whiskers over a few x values (success vs eps). Both
lay out several panels side by side, one per model.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd")
GRID = "#dddddd"
INK = "#222222"


def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(BOLD if bold else FONT, size)


@dataclass(frozen=True)
class Interval:
    value: float
    low: float
    high: float


@dataclass(frozen=True)
class BarGroup:
    """One panel of grouped bars: per series, one Interval per row, plus extra dots per row."""

    title: str
    rows: tuple[str, ...]
    series: tuple[str, ...]
    values: tuple[tuple[Interval, ...], ...]  # [series][row]
    dots: tuple[tuple[tuple[float, ...], ...], ...]  # [series][row] -> other subsets' values


@dataclass(frozen=True)
class LinePanel:
    """One panel of lines: per series, one Interval per x."""

    title: str
    xs: tuple[float, ...]
    x_labels: tuple[str, ...]
    series: tuple[str, ...]
    values: tuple[tuple[Interval, ...], ...]  # [series][x]


def _ticks(top: float, n: int = 5) -> list[float]:
    raw = top / n
    step = min(
        (s for s in (0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1, 2, 5, 10, 20, 25, 50) if s >= raw),
        default=raw,
    )
    return [i * step for i in range(math.ceil(top / step - 1e-9) + 1)]


def _legend(
    draw: ImageDraw.ImageDraw, x: int, y: int, names: Sequence[str], extra: str = ""
) -> None:
    f = font(13)
    for i, name in enumerate(names):
        draw.rectangle([x, y + 3, x + 14, y + 14], fill=COLOURS[i % len(COLOURS)])
        draw.text((x + 20, y), name, fill=INK, font=f)
        x += 28 + int(draw.textlength(name, font=f))
    if extra:
        draw.text((x + 6, y), extra, fill=INK, font=f)


def bar_chart(panels: Sequence[BarGroup], path: Path, title: str, note: str = "") -> None:
    """Grouped horizontal bars (one group per row) with 95% whiskers, panels side by side."""
    label_w, panel_w, gap, row_h = 170, 330, 30, 34
    n_rows = len(panels[0].rows)
    top, bottom = 70, 80
    width = max(label_w + len(panels) * (panel_w + gap) + 10, 1000)
    height = top + n_rows * row_h + bottom
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    draw.text((10, 8), title, fill=INK, font=font(16, bold=True))
    for i, name in enumerate(panels[0].rows):
        y = top + i * row_h + row_h / 2 - 8
        draw.text((10, y), name, fill=INK, font=font(13))
    for p_i, panel in enumerate(panels):
        x0 = label_w + p_i * (panel_w + gap)
        everything = [iv.high for s in panel.values for iv in s] + [
            d for s in panel.dots for row in s for d in row
        ]
        lows = [iv.low for s in panel.values for iv in s] + everything
        neg = _ticks(-min(lows) * 1.05) if min(lows) < 0 else [0.0]
        pos = _ticks(max(everything) * 1.05)
        lo_t, hi_t = -neg[-1], pos[-1]
        scale = panel_w / (hi_t - lo_t) if hi_t > lo_t else 1.0

        def px(v: float, x0: int = x0, lo_t: float = lo_t, scale: float = scale) -> float:
            return x0 + (v - lo_t) * scale

        draw.text((x0, top - 40), panel.title, fill=INK, font=font(14, bold=True))
        for t in [-v for v in reversed(neg[1:])] + pos:
            draw.line([px(t), top - 4, px(t), top + n_rows * row_h], fill=GRID)
            draw.text((px(t) - 10, top - 20), f"{t:g}", fill=INK, font=font(11))
        n_s = len(panel.series)
        bar_h = (row_h - 8) / n_s
        for s_i, series in enumerate(panel.values):
            colour = COLOURS[s_i % len(COLOURS)]
            for r_i, iv in enumerate(series):
                y = top + r_i * row_h + 4 + s_i * bar_h
                left, right = sorted((px(0.0), px(iv.value)))
                draw.rectangle([left, y, right, y + bar_h - 1], fill=colour)
                mid = y + bar_h / 2
                draw.line([px(iv.low), mid, px(iv.high), mid], fill=INK, width=1)
                for e in (iv.low, iv.high):
                    draw.line([px(e), mid - 2, px(e), mid + 2], fill=INK)
                for d in panel.dots[s_i][r_i]:
                    draw.ellipse(
                        [px(d) - 2, mid - 2, px(d) + 2, mid + 2], outline=INK, fill="white"
                    )
        draw.line([px(0.0), top - 4, px(0.0), top + n_rows * row_h], fill=INK)
    _legend(draw, label_w, height - bottom + 12, panels[0].series)
    if note:
        draw.text((label_w, height - bottom + 34), note, fill=INK, font=font(12))
    img.save(path)


def line_chart(
    panels: Sequence[LinePanel], path: Path, title: str, y_label: str, note: str = ""
) -> None:
    """Lines over a few x values with 95% whiskers, panels side by side, y in [0, 100]."""
    left, panel_w, panel_h, gap = 60, 340, 260, 60
    top, bottom = 70, 90
    width = max(left + len(panels) * (panel_w + gap), 760)
    height = top + panel_h + bottom
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    draw.text((10, 8), title, fill=INK, font=font(16, bold=True))
    for p_i, panel in enumerate(panels):
        x0 = left + p_i * (panel_w + gap)
        xmin, xmax = min(panel.xs), max(panel.xs)
        span = xmax - xmin

        def px(x: float, x0: int = x0, xmin: float = xmin, span: float = span) -> float:
            return x0 + 20 + (x - xmin) / span * (panel_w - 40)

        def py(v: float) -> float:
            return top + panel_h - v / 100 * panel_h

        draw.text((x0, top - 30), panel.title, fill=INK, font=font(14, bold=True))
        for t in range(0, 101, 20):
            draw.line([x0, py(t), x0 + panel_w, py(t)], fill=GRID)
            draw.text((x0 - 30, py(t) - 7), f"{t}", fill=INK, font=font(11))
        draw.line([x0, top, x0, top + panel_h], fill=INK)
        draw.line([x0, top + panel_h, x0 + panel_w, top + panel_h], fill=INK)
        for x, lab in zip(panel.xs, panel.x_labels, strict=True):
            draw.line([px(x), top + panel_h, px(x), top + panel_h + 4], fill=INK)
            w = draw.textlength(lab, font=font(11))
            draw.text((px(x) - w / 2, top + panel_h + 6), lab, fill=INK, font=font(11))
        for s_i, series in enumerate(panel.values):
            colour = COLOURS[s_i % len(COLOURS)]
            dx = (s_i - (len(panel.values) - 1) / 2) * 4  # spread whiskers that would overlap
            pts = [(px(x) + dx, py(iv.value)) for x, iv in zip(panel.xs, series, strict=True)]
            draw.line(pts, fill=colour, width=2)
            for (cx, cy), iv in zip(pts, series, strict=True):
                draw.line([cx, py(iv.low), cx, py(iv.high)], fill=colour, width=1)
                draw.ellipse([cx - 3, cy - 3, cx + 3, cy + 3], fill=colour)
    draw.text((left, top + panel_h + 24), y_label, fill=INK, font=font(12))
    _legend(draw, left, top + panel_h + 44, panels[0].series)
    if note:
        draw.text((left, top + panel_h + 66), note, fill=INK, font=font(12))
    img.save(path)
