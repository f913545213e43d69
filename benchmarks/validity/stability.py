"""Stability of the sensitivity histogram over disjoint probe subsets (paper App. E).

One pool of builtin synthfaces probes (seed 1, not the policy's 0) is attacked once with the
settings of policies/fairness.yaml (SIA full, 50 signed steps, eta_a 4/255, eps_x 1.5/255;
attribute effects on, pixel baselines off). SIA is independent per probe, so disjoint subsets
of the pool are audits of their own: 8 x 256, 4 x 512 and 2 x 1024 probes (contiguous by
index, as the paper divides its test set). Per subset: s with its bootstrap intervals
(sia_audit.metrics.sensitivity, the policy's 1,000 resamples) and the attribute effect.
Reported: Spearman rank correlation of s (and of the effect) between every pair of disjoint
subsets of the same size, the mean interval width per size, and, as in the paper, between
disjoint subsets of different sizes (probes 0-255, 256-767, 1024-2047).

    PYTHONPATH=. nice -n 10 .venv/bin/python -m benchmarks.validity.stability

Per-probe results are cached in benchmarks/.cache/validity_pool/ (validity.common.attack_pool);
the control model uses whatever prefix of its pool is cached unless --attack-control is given.
Log: docs/logs/validity_stability.log; plot: docs/validity-stability.png.
"""

from __future__ import annotations

import argparse
import itertools
import json
from pathlib import Path

import torch
from torch import Tensor

from benchmarks import paths
from benchmarks.validity.common import (
    Log,
    attack_pool,
    log_footer,
    log_header,
    logger,
    pool,
    stability_config,
)
from benchmarks.validity.plots import BarGroup, Interval, bar_chart
from benchmarks.validity.stats import median, spearman
from sia_audit.metrics import attribute_effect, sensitivity

LOG = paths.LOGS / "validity_stability.log"
PLOT = paths.ROOT / "docs" / "validity-stability.png"
SIZES = (256, 512, 1024)
# The paper's stability layout: disjoint sets of different sizes, by index.
CROSS = {256: (0, 256), 512: (256, 768), 1024: (1024, 2048)}
# The paper's own figures (Tables 8-11: CelebA test images 2,000 / 5,000 / 10,000), to set
# the goal in context: the same Spearman computed on the paper's histograms.
PAPER_TEXT = {
    "gender": (
        "0.0434 0.0605 0.0405 0.0434 0.0545 0.0887 0.0803 0.0584 0.0755 0.1495 0.0452 0.0647 "
        "0.0370 0.1585",
        "0.0426 0.0580 0.0417 0.0445 0.0528 0.0879 0.0839 0.0551 0.0775 0.1493 0.0449 0.0656 "
        "0.0375 0.1586",
        "0.0427 0.0595 0.0409 0.0424 0.0532 0.0879 0.0838 0.0548 0.0775 0.1499 0.0458 0.0652 "
        "0.0359 0.1606",
    ),
    "heavy makeup": (
        "0.0269 0.0772 0.0438 0.0540 0.0650 0.0742 0.1296 0.0446 0.0494 0.0740 0.1244 0.0291 "
        "0.0691 0.0371 0.1016",
        "0.0268 0.0774 0.0400 0.0528 0.0631 0.0792 0.1278 0.0446 0.0525 0.0772 0.1213 0.0298 "
        "0.0651 0.0408 0.1015",
        "0.0265 0.0783 0.0419 0.0563 0.0645 0.0740 0.1294 0.0419 0.0494 0.0790 0.1218 0.0288 "
        "0.0679 0.0368 0.1037",
    ),
}
PAPER = {k: tuple(tuple(map(float, row.split())) for row in v) for k, v in PAPER_TEXT.items()}


def subset_figures(data: dict, names: tuple[str, ...], start: int, stop: int) -> dict:
    """s (and effect) with intervals over probes start:stop of the pool."""
    from benchmarks.validity.common import policy_config

    b = policy_config().bootstrap
    full = data["full"]
    included = data["_meta"]["included"]
    delta: Tensor = (full["a_T"] - full["a0"])[start:stop].double()
    sens = sensitivity(delta, included, names=names, config=b)
    out = {
        "range": [start, stop],
        "attributes": list(sens.attributes),
        "s": [[e.value, e.low, e.high] for e in sens.s],
        "sdar_s": [sens.sdar_s.value, sens.sdar_s.low, sens.sdar_s.high],
    }
    if "effects" in full:
        eff = attribute_effect(
            full["effects"][start:stop].double(), included, names=names, config=b
        )
        out["effect"] = [[e.value, e.low, e.high] for e in eff.effect]
    return out


def pair_stats(subsets: list[dict], key: str) -> dict:
    """Spearman of `key` values between every pair of the given disjoint subsets."""
    rhos = [
        spearman([v[0] for v in a[key]], [v[0] for v in b[key]])
        for a, b in itertools.combinations(subsets, 2)
    ]
    return {
        "pairs": len(rhos),
        "min": min(rhos),
        "median": median(rhos),
        "max": max(rhos),
        "all": rhos,
    }


def ties(values: list[float], digits: int = 3) -> int:
    """Attributes whose s equals another's at `digits` decimals (a flat histogram's symptom)."""
    rounded = [round(v, digits) for v in values]
    return sum(rounded.count(v) > 1 for v in rounded)


def model_figures(model: str, data: dict, names: tuple[str, ...], log: Log) -> dict:
    n = len(data["full"]["a_T"])
    log(f"{model}: {n} probes in the pool")
    by_size: dict[int, dict] = {}
    for size in SIZES:
        k = n // size
        if k < 2:
            log(f"{model}: only {k} subset(s) of {size}: no disjoint pair, skipped")
            continue
        subsets = [subset_figures(data, names, i * size, (i + 1) * size) for i in range(k)]
        widths = [sum(v[2] - v[1] for v in sub["s"]) / len(sub["s"]) for sub in subsets]
        entry = {
            "subsets": subsets,
            "spearman_s": pair_stats(subsets, "s"),
            "mean_width_s": sum(widths) / len(widths),
            "top_s": [
                sub["attributes"][max(range(len(sub["s"])), key=lambda j: sub["s"][j][0])]
                for sub in subsets
            ],
            "ties_s": [ties([v[0] for v in sub["s"]]) for sub in subsets],
        }
        if "effect" in subsets[0]:
            entry["spearman_effect"] = pair_stats(subsets, "effect")
            ew = [sum(v[2] - v[1] for v in sub["effect"]) / len(sub["effect"]) for sub in subsets]
            entry["mean_width_effect"] = sum(ew) / len(ew)
            entry["top_effect"] = [
                sub["attributes"][max(range(len(sub["effect"])), key=lambda j: sub["effect"][j][0])]
                for sub in subsets
            ]
        by_size[size] = entry
        sp = entry["spearman_s"]
        log(
            f"{model} {k} x {size}: Spearman(s) min {sp['min']:.3f} median {sp['median']:.3f} "
            f"max {sp['max']:.3f} over {sp['pairs']} pairs; mean 95% width of s "
            f"{entry['mean_width_s']:.4f}; top s {entry['top_s']}; tied s (3 dp) "
            f"{entry['ties_s']}"
        )
        if "spearman_effect" in entry:
            se = entry["spearman_effect"]
            log(
                f"{model} {k} x {size}: Spearman(effect) min {se['min']:.3f} median "
                f"{se['median']:.3f}; mean width {entry['mean_width_effect']:.4f}; "
                f"top effect {entry['top_effect']}"
            )
    cross = {}
    if n >= max(stop for _, stop in CROSS.values()):
        subs = {size: subset_figures(data, names, *CROSS[size]) for size in CROSS}
        for a, b in itertools.combinations(SIZES, 2):
            for key in ("s", "effect"):
                if key in subs[a]:
                    rho = spearman([v[0] for v in subs[a][key]], [v[0] for v in subs[b][key]])
                    cross[f"{key} {a} vs {b}"] = rho
        log(
            f"{model} cross-size (probes 0-255 / 256-767 / 1024-2047): "
            + ", ".join(f"{k} {v:.3f}" for k, v in cross.items())
        )
        by_size_cross = subs
    else:
        by_size_cross = {}
    whole = subset_figures(data, names, 0, n)
    log(
        f"{model} all {n} probes: s "
        + ", ".join(f"{a} {v[0]:.3f}" for a, v in zip(whole["attributes"], whole["s"], strict=True))
    )
    return {
        "n": n,
        "by_size": by_size,
        "cross": cross,
        "cross_subsets": by_size_cross,
        "whole": whole,
    }


def paper_reference(log: Log) -> dict:
    """Spearman between the paper's own disjoint 2,000 / 5,000 / 10,000-image histograms."""
    out = {}
    for clf, rows in PAPER.items():
        for (i, a), (j, b) in itertools.combinations(enumerate(rows), 2):
            sizes = ("2000", "5000", "10000")
            out[f"{clf} {sizes[i]} vs {sizes[j]}"] = spearman(a, b)
    log(
        "paper Tables 8-11, Spearman between its disjoint sets: "
        + ", ".join(f"{k} {v:.3f}" for k, v in out.items())
    )
    return out


def subset_panel(fig: dict, key: str, title: str) -> BarGroup:
    """Bars: `key` on the paper-layout subsets; dots: the other disjoint subsets, same size."""
    subs = fig["cross_subsets"]
    names = tuple(subs[256]["attributes"])
    values, dots = [], []
    for size in SIZES:
        values.append(tuple(Interval(*v) for v in subs[size][key]))
        lo, hi = CROSS[size]
        others = [s for s in fig["by_size"][size]["subsets"] if s["range"] != [lo, hi]]
        dots.append(tuple(tuple(o[key][j][0] for o in others) for j in range(len(names))))
    return BarGroup(
        title,
        names,
        tuple(f"{s} probes (#{CROSS[s][0]}-{CROSS[s][1] - 1})" for s in SIZES),
        tuple(values),
        tuple(dots),
    )


def plot(figures: dict, path: Path) -> None:
    """Per model: s of the disjoint 256 / 512 / 1024 subsets (paper layout) with whiskers;
    dots are the other disjoint subsets of the same size."""
    panels = []
    for model, fig in figures.items():
        if not fig["cross_subsets"]:
            continue
        for key, what in (("s", "s"), ("effect", "attribute effect")):
            panels.append(subset_panel(fig, key, f"{model} model: {what}"))
    bar_chart(
        panels,
        path,
        "Sensitivity s and attribute effect on disjoint probe subsets "
        "(fairness policy, synthfaces seed 1)",
        note="Bars: the figure with its 95% bootstrap interval. Circles: the same figure on\n"
        "the other disjoint subsets of the same size (7 x 256, 3 x 512, 1 x 1024).",
    )


def summary_table(figures: dict) -> list[str]:
    """Markdown: per model and subset size, the Spearman figures and interval widths."""
    lines = [
        "| model | size | disjoint subsets (pairs) | Spearman of s: min / median / max "
        "| Spearman of effect: min / median | mean 95% width: s / effect | largest s (subsets) |",
        "|---|---|---|---|---|---|---|",
    ]
    for model, fig in figures.items():
        for size, e in fig["by_size"].items():
            sp = e["spearman_s"]
            se = e.get("spearman_effect")
            eff = f"{se['min']:.3f} / {se['median']:.3f}" if se else "-"
            widths = f"{e['mean_width_s']:.3f} / {e.get('mean_width_effect', float('nan')):.3f}"
            tops = ", ".join(f"{t} ({e['top_s'].count(t)})" for t in sorted(set(e["top_s"])))
            lines.append(
                f"| {model} | {size} | {len(e['subsets'])} ({sp['pairs']}) "
                f"| {sp['min']:.3f} / {sp['median']:.3f} / {sp['max']:.3f} | {eff} "
                f"| {widths} | {tops} |"
            )
    return lines


def interval(v: list[float]) -> str:
    return f"{v[0]:.3f} [{v[1]:.3f}, {v[2]:.3f}]"


def values_table(fig: dict) -> list[str]:
    """Markdown: s per attribute on the paper-layout disjoint subsets and on the whole pool."""
    subs = fig["cross_subsets"]
    head = " | ".join(f"{size} (#{CROSS[size][0]}-{CROSS[size][1] - 1})" for size in SIZES)
    lines = [f"| attribute | {head} | all {fig['n']} |", "|---|---|---|---|---|"]
    for j, attr in enumerate(fig["whole"]["attributes"]):
        cells = " | ".join(interval(subs[size]["s"][j]) for size in SIZES)
        lines.append(f"| {attr} | {cells} | {interval(fig['whole']['s'][j])} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--attack-control",
        action="store_true",
        help="attack the control's whole pool (else: use its cached prefix)",
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    log = logger(LOG)
    t0 = log_header(log, "validity_stability")
    probes = pool()
    config = stability_config()
    log(
        f"pool {probes!r}; settings {config.attack}; effects {config.effects}; "
        f"bootstrap {config.bootstrap}"
    )
    figures = {}
    for model in ("biased", "control"):
        cached_only = model == "control" and not args.attack_control
        data = attack_pool(model, probes, config, log=log, cached_only=cached_only)
        if not data:
            log(f"{model}: nothing cached, skipped")
            continue
        figures[model] = model_figures(model, data, probes.attr_names, log)
    for line in summary_table(figures):
        log(line)
    for model, fig in figures.items():
        if fig["cross_subsets"]:
            log(f"{model}: s on the paper-layout disjoint subsets")
            for line in values_table(fig):
                log(line)
    figures["_paper"] = paper_reference(log)
    out = paths.CACHE / "validity_stability.json"
    out.write_text(json.dumps(figures, indent=1))
    log(f"figures: {out.relative_to(paths.ROOT)}")
    plot({k: v for k, v in figures.items() if not k.startswith("_")}, PLOT)
    log(f"plot: {PLOT.relative_to(paths.ROOT)}")
    log_footer(log, "validity_stability", t0)


if __name__ == "__main__":
    main()
