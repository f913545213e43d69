"""Weighted sensitivity: s counted only as far as the attribute's move mattered to the loss.

w_k = s_k * max(0, effect_k / rise), where s_k = mean |a_T,k - a_0,k| (the paper's s),
effect_k = mean loss drop when a_T,k alone is reset to a_0,k (metrics.effect), and rise = mean
loss increase of the attack, L(adversary) - L(start). The effect share says how much of the
attack's gain hangs on k; s says how far the attack had to move k. A target that leans on k
gives both; a truthful one still lets the attack move attributes far (the signed steps move
every attribute with a consistent gradient by the same eta), but little of the loss rides on
them. On the planted-truth suite, with an earlier generator, it ranked a realistic planted
shortcut first in 24 of 25 models (s 20, the effect 22; docs/validity-earlier-generators.md),
which is why reports lead with it; the held-out suite measures it out of sample
(docs/validity.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from sia_audit.metrics.bootstrap import DEFAULT, BootstrapConfig, bootstrap, paired_bootstrap
from sia_audit.metrics.estimate import EmptyMetricError, Estimate
from sia_audit.metrics.sensitivity import resolve_attributes

DEFINITION = (
    "Weighted sensitivity of {a}: s (mean over the probes of |a_T,k - a_0,k|) times the "
    "attribute's share of the attack's loss increase (mean loss drop when a_T,k alone is reset "
    "to a_0,k, over the mean of L(adversary) - L(start)), the share floored at 0"
)


@dataclass(frozen=True)
class WeightedSensitivity:
    """w per histogram attribute, aligned with `Sensitivity.attributes`."""

    attributes: tuple[str, ...]
    excluded: tuple[str, ...]
    w: tuple[Estimate, ...]
    n: int

    def of(self, name: str) -> Estimate:
        return self.w[self.attributes.index(name)]

    def as_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "attributes": list(self.attributes),
            "excluded": list(self.excluded),
            "w": {a: e.as_dict() for a, e in zip(self.attributes, self.w, strict=True)},
        }


def statistic(means: Tensor) -> Tensor:
    """w per attribute from resampled means of [|delta| (L), effects (L), rise (1)]."""
    # means: (R, 2L + 1) = mean |delta| per attribute, mean effect per attribute, mean rise.
    # A resample whose mean rise is not positive has no shares: NaN, left out.
    n_l = (means.shape[-1] - 1) // 2
    s, effect, rise = means[..., :n_l], means[..., n_l : 2 * n_l], means[..., -1:]
    safe = torch.where(rise > 0, rise, torch.full_like(rise, float("nan")))
    return s * (effect / safe).clamp_min(0.0)


def weighted_sensitivity(
    delta: Tensor,
    effects: Tensor,
    rise: Tensor,
    included: Tensor | Sequence[bool] | None = None,
    *,
    names: Sequence[str] | None = None,
    config: BootstrapConfig = DEFAULT,
) -> WeightedSensitivity:
    """w from per-probe a_T - a_0 (N, K), loss drops (N, K) and loss increases (N,).

    Raises EmptyMetricError when there are no probes or the attack did not raise the mean loss
    (no shares of nothing). Uses the same resamples as `sensitivity` for the same probes.
    """
    if delta.dim() != 2 or effects.shape != delta.shape or rise.shape != (delta.shape[0],):
        raise ValueError(
            f"expected delta and effects (N, K) and rise (N,), got {tuple(delta.shape)}, "
            f"{tuple(effects.shape)} and {tuple(rise.shape)}"
        )
    names, mask = resolve_attributes(delta.shape[1], names, included)
    if delta.shape[0] == 0:
        raise EmptyMetricError("no probes: the weighted sensitivity needs at least one probe")
    if float(rise.mean()) <= 0:
        raise EmptyMetricError("the attack did not raise the mean loss: no shares to weigh s by")
    values = torch.cat(
        [
            delta.detach().cpu()[:, mask].abs(),
            effects.detach().cpu()[:, mask],
            rise.detach().cpu()[:, None],
        ],
        dim=1,
    ).to(torch.float64)
    rep = bootstrap(values, statistic, config)
    kept = [a for a, m in zip(names, mask.tolist(), strict=True) if m]
    w = tuple(rep.estimate(DEFINITION.format(a=a), (j,)) for j, a in enumerate(kept))
    excl = tuple(a for a, m in zip(names, mask.tolist(), strict=True) if not m)
    return WeightedSensitivity(tuple(kept), excl, w, rep.n)


@dataclass(frozen=True)
class WeightedInputs:
    """What w is computed from, per probe: a_T - a_0 (N, K), loss drops (N, K), rises (N,)."""

    delta: Tensor
    effects: Tensor
    rise: Tensor


def weighted_difference(
    base: WeightedInputs,
    head: WeightedInputs,
    included: Tensor | Sequence[bool] | None = None,
    *,
    names: Sequence[str] | None = None,
    config: BootstrapConfig = DEFAULT,
    base_ids: Sequence[str] | None = None,
    head_ids: Sequence[str] | None = None,
) -> WeightedSensitivity:
    """Head minus baseline of every w_k, paired by probe, with paired intervals.

    Raises EmptyMetricError when either audit did not raise its mean loss (no w to compare).
    """
    for side, inputs in (("baseline", base), ("head", head)):
        d = inputs.delta
        if d.dim() != 2 or inputs.effects.shape != d.shape or inputs.rise.shape != (d.shape[0],):
            raise ValueError(f"{side}: expected delta and effects (N, K) and rise (N,)")
        if d.shape[0] and float(inputs.rise.mean()) <= 0:
            raise EmptyMetricError(
                f"the {side} attack did not raise the mean loss: it has no w to compare"
            )
    names, mask = resolve_attributes(base.delta.shape[1], names, included)

    def values(x: WeightedInputs) -> Tensor:
        return torch.cat(
            [x.delta.detach().cpu()[:, mask].abs(), x.effects.detach().cpu()[:, mask],
             x.rise.detach().cpu()[:, None]],
            dim=1,
        ).to(torch.float64)  # fmt: skip

    rep = paired_bootstrap(
        values(base), values(head), statistic, config, base_ids=base_ids, head_ids=head_ids
    )
    kept = [a for a, m in zip(names, mask.tolist(), strict=True) if m]
    prefix = "Change head - baseline, paired by probe, of: "
    w = tuple(rep.estimate(prefix + DEFINITION.format(a=a), (j,)) for j, a in enumerate(kept))
    excl = tuple(a for a, m in zip(names, mask.tolist(), strict=True) if not m)
    return WeightedSensitivity(tuple(kept), excl, w, rep.n)
