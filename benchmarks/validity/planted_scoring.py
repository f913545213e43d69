"""Candidate figures and their scores on the planted-truth suite (validity/planted_suite.py).

An audit is cached as per-probe arrays (`AuditData`); every candidate figure is a statistic of
those arrays, so its paired interval against the control is a bootstrap over the shared probes
with the same resampled indices for both models. Torch-only, no audit here: the tests run it on
made-up arrays.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor


@dataclass(frozen=True)
class AuditData:
    """What the suite keeps of one audit: per-probe arrays over the generator's attributes."""

    attr_names: tuple[str, ...]
    excluded: tuple[str, ...]  # frozen (the label) and unmeasurable: never ranked
    probe_names: tuple[str, ...]
    delta: Tensor  # (N, K) a_T - a_0
    effects: Tensor  # (N, K) loss drop when attribute k alone is reset
    path_a: Tensor  # (N, K) path attribution
    path_x: Tensor  # (N,) the image's path term
    loss_start: Tensor  # (N,)
    loss_adv: Tensor  # (N,)

    @classmethod
    def from_json(cls, d: dict) -> AuditData:
        t = lambda key: torch.tensor(d[key], dtype=torch.float64)  # noqa: E731
        return cls(
            tuple(d["attr_names"]),
            tuple(d["excluded"]),
            tuple(d["probe_names"]),
            t("delta"),
            t("effects"),
            t("path_a"),
            t("path_x"),
            t("loss_start"),
            t("loss_adv"),
        )

    def ranked(self) -> list[str]:
        return [a for a in self.attr_names if a not in self.excluded]


# A figure maps resampled probe indices (R, N) to values (R, K), larger = more reliance.
Figure = Callable[[AuditData, Tensor], Tensor]


def _mean(x: Tensor, idx: Tensor) -> Tensor:
    return x[idx].mean(dim=1)


def _s(d: AuditData, idx: Tensor) -> Tensor:
    return _mean(d.delta.abs(), idx)


def _effect(d: AuditData, idx: Tensor) -> Tensor:
    return _mean(d.effects, idx)


def _path(d: AuditData, idx: Tensor) -> Tensor:
    return _mean(d.path_a, idx)


def _path_share(d: AuditData, idx: Tensor) -> Tensor:
    total = _mean(d.path_a.sum(dim=1) + d.path_x, idx)
    return _mean(d.path_a, idx) / total.clamp_min(1e-12)[:, None]


def _effect_share(d: AuditData, idx: Tensor) -> Tensor:
    rise = _mean(d.loss_adv - d.loss_start, idx)
    return _mean(d.effects, idx) / rise.clamp_min(1e-12)[:, None]


def _w(d: AuditData, idx: Tensor) -> Tensor:
    """w, the weighted sensitivity (sia_audit/metrics/weighted.py): s times the share of the
    attack's loss increase that undoing k's move takes back (floored at 0), i.e. how far the
    attack moved k, counted only as far as the move mattered to the loss."""
    return _s(d, idx) * _effect_share(d, idx).clamp_min(0.0)


FIGURES: dict[str, Figure] = {
    "s": _s,  # the paper's sensitivity
    "effect": _effect,
    "effect_share": _effect_share,
    "path": _path,
    "path_share": _path_share,
    "w": _w,  # s x effect share; added after the first 20 counted plants
}


def point(d: AuditData, figure: str) -> Tensor:
    """The figure on all probes: (K,)."""
    return FIGURES[figure](d, torch.arange(len(d.probe_names))[None])[0]


def rank(d: AuditData, figure: str, attr: str) -> int:
    """1 = the largest value among the ranked attributes."""
    values = point(d, figure)
    v = values[d.attr_names.index(attr)]
    return 1 + sum(int(values[d.attr_names.index(a)] > v) for a in d.ranked() if a != attr)


def paired_interval(
    biased: AuditData,
    control: AuditData,
    figure: str,
    attr: str,
    *,
    resamples: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> tuple[float, float, float]:
    """figure[attr] of biased minus control, resampling the shared probes together."""
    if biased.probe_names != control.probe_names:
        raise ValueError("the biased model and its control were audited on different probes")
    k = biased.attr_names.index(attr)
    n = len(biased.probe_names)
    g = torch.Generator().manual_seed(seed)
    idx = torch.randint(n, (resamples, n), generator=g)
    fig = FIGURES[figure]
    diffs = fig(biased, idx)[:, k] - fig(control, idx)[:, k]
    tail = (1 - level) / 2
    low, high = torch.quantile(diffs, torch.tensor([tail, 1 - tail], dtype=diffs.dtype))
    value = point(biased, figure)[k] - point(control, figure)[k]
    return float(value), float(low), float(high)


def lower_bounds(
    d: AuditData, figure: str, *, resamples: int = 1000, seed: int = 0, level: float = 0.95
) -> Tensor:
    """The low end of each attribute's bootstrap interval (K,): what a gate with
    `use_confidence: true` compares with its max."""
    n = len(d.probe_names)
    idx = torch.randint(n, (resamples, n), generator=torch.Generator().manual_seed(seed))
    return torch.quantile(FIGURES[figure](d, idx), (1 - level) / 2, dim=0)


def auc(positives: Sequence[float], negatives: Sequence[float]) -> float:
    """P(a positive exceeds a negative), ties counting half (Mann-Whitney)."""
    if not positives or not negatives:
        return float("nan")
    wins = sum((p > q) + 0.5 * (p == q) for p in positives for q in negatives)
    return wins / (len(positives) * len(negatives))


@dataclass(frozen=True)
class Plant:
    """One counted biased model: its planted attribute and the control of its label and arch."""

    name: str
    attr: str
    biased: AuditData
    control: AuditData
    label: str = ""  # the classifier's label: a policy (and its threshold) is written per label


def _gate_floor(controls: Sequence[AuditData], figure: str) -> float:
    """The lowest `max` of a confident gate (fails where an interval's low end exceeds it)
    that fails none of `controls` on any ranked attribute."""
    return max(
        float(lower_bounds(c, figure)[[c.attr_names.index(a) for a in c.ranked()]].max())
        for c in controls
    )


def label_thresholds(
    plants: Sequence[Plant],
    figure: str,
    label_controls: Mapping[str, Sequence[AuditData]] | None = None,
) -> dict[str, float]:
    """Per label, the lowest confident-gate threshold that fails none of that label's controls
    (`label_controls`, every architecture, plus the plants' own): a policy calibrated on the
    truthful models of its own task."""
    by_label: dict[str, dict[int, AuditData]] = {}
    for label, cs in (label_controls or {}).items():
        by_label.setdefault(label, {}).update({id(c): c for c in cs})
    for p in plants:
        by_label.setdefault(p.label, {})[id(p.control)] = p.control
    return {label: _gate_floor(list(cs.values()), figure) for label, cs in by_label.items()}


def score(
    plants: Sequence[Plant],
    figure: str,
    controls: Sequence[AuditData] = (),
    label_controls: Mapping[str, Sequence[AuditData]] | None = None,
) -> dict[str, float]:
    """The suite's scores of one figure over the counted plants.

    top1, top3: fraction of plants whose planted attribute ranks 1st, in the top 3;
    excludes_zero: fraction whose paired biased - control interval lies above zero;
    auc: the planted attribute's figure in biased models against the same attribute in their
    controls; separated: fraction of plants above every control's largest value of the figure
    over its ranked attributes (what one threshold could catch without failing a control);
    gate_caught: the same for a confident gate, at the lowest threshold (gate_threshold) that
    fails no control. The controls are `controls` (every control of the grid, also those of
    labels with no counted plant: a gate must pass all of them) plus the plants' own;
    label_gate_caught: the same with one threshold per label (`label_thresholds`).
    """
    if not plants:
        return {}
    ranks = [rank(p.biased, figure, p.attr) for p in plants]
    lows = [paired_interval(p.biased, p.control, figure, p.attr)[1] for p in plants]
    pos = [float(point(p.biased, figure)[p.biased.attr_names.index(p.attr)]) for p in plants]
    neg = [float(point(p.control, figure)[p.control.attr_names.index(p.attr)]) for p in plants]
    controls = {id(c): c for c in [*controls, *(p.control for p in plants)]}.values()
    ceiling = max(
        float(point(c, figure)[[c.attr_names.index(a) for a in c.ranked()]].max()) for c in controls
    )
    # A confident gate (`max: t`, use_confidence) fails where the interval's low end > t. The
    # lowest t that fails no control on any ranked attribute, and the plants it still fails.
    gate_t = _gate_floor(list(controls), figure)
    per_label = label_thresholds(plants, figure, label_controls)
    plant_lows = [
        float(lower_bounds(p.biased, figure)[p.biased.attr_names.index(p.attr)]) for p in plants
    ]
    n = len(plants)
    return {
        "gate_threshold": gate_t,
        "gate_caught": sum(low > gate_t for low in plant_lows) / n,
        "label_gate_caught": sum(
            low > per_label[p.label] for low, p in zip(plant_lows, plants, strict=True)
        )
        / n,
        "top1": sum(r == 1 for r in ranks) / n,
        "top3": sum(r <= 3 for r in ranks) / n,
        "excludes_zero": sum(low > 0 for low in lows) / n,
        "auc": auc(pos, neg),
        "separated": sum(v > ceiling for v in pos) / n,
        "control_ceiling": ceiling,
    }
