"""Editability: can the generator draw a change of each attribute? Pure figures.

The audit flips each attribute k of every probe (a_k -> 1 - a_k) in the generator's input and
asks an attribute classifier whether the output shows the change. An attribute the generator
cannot draw moves freely under the attack without changing the image, so its sensitivity says
nothing about the target: it is marked unmeasurable, and left out of h and SDAR.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from sia_audit import defaults
from sia_audit.metrics.bootstrap import DEFAULT, BootstrapConfig, mean_estimate
from sia_audit.metrics.estimate import Estimate


@dataclass(frozen=True)
class TruthCheck:
    """The flip against the renderer's true edit (synthfaces only), over the whole probe set.

    PSNRs pool the squared error of every probe (10 log10(1 / MSE)). `region_psnr` is over the
    pixels where the true edit differs from the input by more than 1/255. `classifier_on_truth`
    is the expression rate of the true edits: the check of the classifier itself.
    """

    flip_psnr: float
    copy_psnr: float
    region_psnr: float
    region_pixels: float  # mean per probe
    classifier_on_truth: Estimate

    @property
    def gain_db(self) -> float:
        """How much better G's flip is than copying the input, in dB (> 0: G draws the edit)."""
        return self.flip_psnr - self.copy_psnr

    def as_dict(self) -> dict[str, Any]:
        return {
            "flip_psnr_db": round(self.flip_psnr, 3),
            "copy_psnr_db": round(self.copy_psnr, 3),
            "gain_db": round(self.gain_db, 3),
            "region_psnr_db": round(self.region_psnr, 3),
            "region_pixels": round(self.region_pixels, 1),
            "classifier_on_truth": self.classifier_on_truth.as_dict(),
        }


@dataclass(frozen=True)
class AttributeEditability:
    """How well the generator expresses a flip of one attribute."""

    attribute: str
    expression: Estimate
    leakage: Estimate
    most_leaked_to: str | None  # the other attribute whose prediction the flip moves most
    measurable: bool
    truth: TruthCheck | None = None
    # Per other attribute: how far the flip moves the classifier's probability of it, on average
    # over the probes that have that attribute and over those that do not, the larger of the two
    # (`class_mean_moves`). Not saved in the report: the audit reads the label's entry
    # (audit.figures).
    leaks_to: Mapping[str, float] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "expression": self.expression.as_dict(),
            "leakage": self.leakage.as_dict(),
            "most_leaked_to": self.most_leaked_to,
            "measurable": self.measurable,
            "truth": None if self.truth is None else self.truth.as_dict(),
        }


@dataclass(frozen=True)
class Editability:
    """Editability of every generator attribute on the audit's probes, and what judged it."""

    classifier: str  # which attribute classifier judged the flips
    min_expression: float
    attributes: tuple[AttributeEditability, ...]
    n: int

    @property
    def unmeasurable(self) -> tuple[str, ...]:
        return tuple(a.attribute for a in self.attributes if not a.measurable)

    def of(self, name: str) -> AttributeEditability:
        return next(a for a in self.attributes if a.attribute == name)

    def as_dict(self) -> dict[str, Any]:
        return {
            "classifier": self.classifier,
            "min_expression": self.min_expression,
            "n": self.n,
            "unmeasurable": list(self.unmeasurable),
            "attributes": {a.attribute: a.as_dict() for a in self.attributes},
        }


def crossed(p_before: Tensor, p_after: Tensor, before_on: Tensor) -> Tensor:
    """Per probe: the prediction sits on the source's side of 0.5 before and on the other after.

    Requiring both sides makes a generator that erases a feature in its reconstruction fail the
    flip that removes it too: that flip changed nothing.
    """
    return ((p_before >= 0.5) == before_on) & ((p_after >= 0.5) != before_on)


def class_mean_moves(moved: Tensor, on: Tensor, min_count: int | None = None) -> Tensor:
    """(M,): per column, the larger of its means over the rows where `on` holds and where it
    does not; a class of fewer than `min_count` rows (default: defaults.MIN_LEAK_CLASS) counts
    for nothing (0). moved, on: (N, M).

    A flip that removes a feature moves the classifier's reading of it only where the feature is
    there: averaged over every probe, the move into a rare attribute is diluted by the probes
    without it (flipping Bald moves the shipped generator's Blond_Hair reading by 0.053 over 256
    probes, by 0.129 over the 52 blond ones).
    """
    min_count = defaults.MIN_LEAK_CLASS if min_count is None else min_count
    on = on.to(moved.dtype)
    count_on, count_off = on.sum(dim=0), (1 - on).sum(dim=0)
    mean_on = (moved * on).sum(dim=0) / count_on.clamp(min=1)
    mean_off = (moved * (1 - on)).sum(dim=0) / count_off.clamp(min=1)
    mean_on = torch.where(count_on >= min_count, mean_on, torch.zeros_like(mean_on))
    mean_off = torch.where(count_off >= min_count, mean_off, torch.zeros_like(mean_off))
    return torch.maximum(mean_on, mean_off)


def editability(
    a0: Tensor,
    p_rec: Tensor,
    p_flip: Tensor,
    *,
    names: Sequence[str],
    classifier: str,
    min_expression: float = defaults.MIN_EXPRESSION,
    truth: Sequence[TruthCheck] | None = None,
    intended: Tensor | None = None,
    config: BootstrapConfig = DEFAULT,
) -> Editability:
    """Expression rate and leakage per attribute from classifier probabilities.

    a0 (N, K) the probes' attributes; p_rec (N, K) the classifier's probabilities on G(x0, a0);
    p_flip (N, K, K): [n, k, j] its probability of attribute j on G(x0, a0 with k flipped).
    `intended` (K, K) bool marks [k, j] where flipping k is meant to move j (default: j = k):
    those moves are not leakage.
    """
    n, k = a0.shape
    if p_rec.shape != (n, k) or p_flip.shape != (n, k, k):
        raise ValueError(
            f"expected p_rec ({n}, {k}) and p_flip ({n}, {k}, {k}), got "
            f"{tuple(p_rec.shape)} and {tuple(p_flip.shape)}"
        )
    if len(names) != k or (truth is not None and len(truth) != k):
        raise ValueError(f"expected {k} attribute names (and truth checks)")
    on = a0 >= 0.5
    moved = (p_flip - p_rec.unsqueeze(1)).abs()  # [n, k, j]
    others = ~(torch.eye(k, dtype=torch.bool) if intended is None else intended)
    rows = []
    for j, name in enumerate(names):
        hit = crossed(p_rec[:, j], p_flip[:, j, j], on[:, j])
        expression = mean_estimate(
            hit.double(),
            f"Expression rate of {name}: fraction of the {n} probes where flipping it in the "
            f"generator's input (a -> 1 - a) moves the attribute classifier's prediction of it "
            "across 0.5 the right way (from the source's side on G(x0, a0) to the other)",
            config,
        )
        leak = moved[:, j][:, others[j]]  # (n, number of other attributes)
        per_probe = leak.mean(dim=1) if leak.shape[1] else torch.zeros(n)  # no others
        leakage = mean_estimate(
            per_probe.double(),
            f"Leakage of {name}: mean over the probes and the {int(others[j].sum())} attributes "
            "the flip is not meant to change of how far it moves the classifier's probability "
            "of each",
            config,
        )
        other_names = [m for i, m in enumerate(names) if bool(others[j, i])]
        worst = other_names[int(leak.mean(dim=0).argmax())] if other_names else None
        per_other = class_mean_moves(leak, on[:, others[j]])
        rows.append(
            AttributeEditability(
                attribute=name,
                expression=expression,
                leakage=leakage,
                most_leaked_to=worst,
                measurable=expression.value >= min_expression,
                truth=None if truth is None else truth[j],
                leaks_to={
                    m: float(v) for m, v in zip(other_names, per_other.tolist(), strict=True)
                },
            )
        )
    return Editability(classifier, min_expression, tuple(rows), n)
