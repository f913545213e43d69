"""Counterfactual flips: ask the target directly what one attribute does to its answers.

Per attribute k, every probe's attribute k is flipped in the generator's input (a_k -> 1 - a_k,
the flips the editability check draws) and the target is read on G(x0, a') against G(x0, a0):

- the flip rate: the fraction of probes where the flip changes whether the target is right;
- the flip loss: the mean absolute change of the target's loss;
- the moved share: the share of probes whose loss the flip moves, each probe counted in full
  from a change of `MOVE` on and in part below it (min(|change| / MOVE, 1), averaged). It reads
  like the flip rate but needs no answer to cross the decision threshold, and unlike the flip
  loss no single face can outweigh the rest.
- the push (binary targets): which way the flip moves the target's answer. Each probe's loss
  change is signed + where turning the attribute on moves the answer toward the positive class
  (or turning it off moves it away) and - otherwise, counted in full from `PUSH_MOVE` on; the
  push is the size of the mean. A target that takes the attribute for the label moves the same
  way on every face; one that merely reacts to a large change of the image moves both ways,
  and those cancel.

No attack is involved: it measures what the target does when only k changes, so a model that
leans on a shortcut changes its answer where a truthful one does not. The label's own attribute
is frozen and left out, and so is any attribute whose flip changes the label: a hair colour
turned on turns the others off, and a flip that moves the attribute classifier's reading of
the label (Bald or Young on a hair colour, `label_leak`) redraws the label's own feature. Its
flip changes the truth, not a shortcut, and a truthful model's answer follows it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import Tensor

from sia_audit import defaults
from sia_audit.metrics.bootstrap import DEFAULT, BootstrapConfig, bootstrap, paired_bootstrap
from sia_audit.metrics.estimate import EmptyMetricError, Estimate
from sia_audit.metrics.sensitivity import resolve_attributes

RATE = (
    "Flip rate of {a}: fraction of the probes where flipping {a} in the generator's input "
    "(a -> 1 - a) changes whether the target is right, on G(x0, a') against G(x0, a0)"
)
LOSS = (
    "Flip loss of {a}: mean over the probes of |L(G(x0, a')) - L(G(x0, a0))|, the target's loss "
    "change when {a} alone is flipped in the generator's input"
)

MOVED = (
    "Moved share of {a}: mean over the probes of min(|L(G(x0, a')) - L(G(x0, a0))| / {move:g}, "
    "1), the share of probes whose loss flipping {a} alone moves (in full from {move:g} on)"
)

PUSH = (
    "Push of {a}: |mean over the probes of min(max(t / {move:g}, -1), 1)|, t the target's loss "
    "change when {a} alone is flipped, signed + where the answer moves toward the positive class "
    "as {a} turns on (or away as it turns off)"
)


@dataclass(frozen=True)
class CounterfactualFlips:
    """Flip rate, flip loss and moved share per attribute (those not excluded), with their
    intervals."""

    attributes: tuple[str, ...]
    excluded: tuple[str, ...]
    rate: tuple[Estimate, ...]
    loss: tuple[Estimate, ...]
    moved: tuple[Estimate, ...]
    n: int
    # The attributes left out because their flip moves the classifier's reading of the label
    # (by this much on average, over the probes): a subset of `excluded`.
    label_leak: Mapping[str, float] = field(default_factory=dict)
    # Binary targets only (empty otherwise): the push per attribute, and its direction: +1 where
    # turning the attribute on moves the answer toward the positive class, -1 away.
    push: tuple[Estimate, ...] = ()
    push_toward: Mapping[str, int] = field(default_factory=dict)

    def of(self, name: str) -> Estimate:
        """The flip rate of `name`."""
        return self.rate[self.attributes.index(name)]

    def as_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "attributes": list(self.attributes),
            "excluded": list(self.excluded),
            "rate": {a: e.as_dict() for a, e in zip(self.attributes, self.rate, strict=True)},
            "loss": {a: e.as_dict() for a, e in zip(self.attributes, self.loss, strict=True)},
            "moved": {a: e.as_dict() for a, e in zip(self.attributes, self.moved, strict=True)},
            "label_leak": {a: round(v, 4) for a, v in self.label_leak.items()},
        } | (
            {
                "push": {a: e.as_dict() for a, e in zip(self.attributes, self.push, strict=True)},
                "push_toward": dict(self.push_toward),
            }
            if self.push
            else {}
        )


def moved_share(flip_loss: Tensor, move: float = defaults.MOVE) -> Tensor:
    """Per probe and attribute, how far the flip moved its loss, in full from `move` on."""
    return (flip_loss.abs() / move).clamp_max(1.0)


def toward_positive(flip_loss: Tensor, a0: Tensor, positive: Tensor) -> Tensor:
    """Per probe and attribute (N, K): the flip's loss change signed by the way it moves a
    binary target's answer, + toward the positive class as the attribute turns on.

    `a0` (N, K) is the generator's input (the flip draws 1 - a0: a value below 0.5 turns on),
    `positive` (N,) is 1 where the probe's truth is the positive class. A cross-entropy loss
    falls as the answer moves toward the truth, so the loss change of a positive probe is
    counted with the opposite sign; where a0 is exactly 0.5 the flip has no direction (0).
    """
    if a0.shape != flip_loss.shape or positive.shape != flip_loss.shape[:1]:
        raise ValueError(
            f"expected a0 {tuple(flip_loss.shape)} and positive ({flip_loss.shape[0]},), got "
            f"{tuple(a0.shape)} and {tuple(positive.shape)}"
        )
    turns_on = torch.sign(1.0 - 2.0 * a0.detach().cpu().to(torch.float64))
    truth = 2.0 * positive.detach().cpu().to(torch.float64) - 1.0
    return -truth[:, None] * turns_on * flip_loss.detach().cpu().to(torch.float64)


def push_share(toward: Tensor, move: float = defaults.PUSH_MOVE) -> Tensor:
    """Per probe and attribute, the signed move counted in full from `move` on."""
    return (toward / move).clamp(-1.0, 1.0)


def _values(flip_loss: Tensor, flip_changed: Tensor, mask: Tensor) -> Tensor:
    """Per probe: the 0/1 changes, the absolute loss changes and the moved shares of the kept
    attributes."""
    changed = flip_changed.detach().cpu()[:, mask].to(torch.float64)
    loss = flip_loss.detach().cpu()[:, mask].abs().to(torch.float64)
    return torch.cat([changed, loss, moved_share(loss)], dim=1)


def _check(flip_loss: Tensor, flip_changed: Tensor) -> None:
    if flip_loss.dim() != 2 or flip_changed.shape != flip_loss.shape:
        raise ValueError(
            f"expected flip_loss and flip_changed (N, K), got {tuple(flip_loss.shape)} and "
            f"{tuple(flip_changed.shape)}"
        )
    if not torch.isfinite(flip_loss).all():
        raise ValueError("flip_loss holds non-finite values")


def _assemble(
    rep: Any, names: Sequence[str], mask: Tensor, prefix: str = ""
) -> CounterfactualFlips:
    kept = [a for a, m in zip(names, mask.tolist(), strict=True) if m]
    n_k = len(kept)
    rate = tuple(rep.estimate(prefix + RATE.format(a=a), (j,)) for j, a in enumerate(kept))
    loss = tuple(rep.estimate(prefix + LOSS.format(a=a), (n_k + j,)) for j, a in enumerate(kept))
    moved = tuple(
        rep.estimate(prefix + MOVED.format(a=a, move=defaults.MOVE), (2 * n_k + j,))
        for j, a in enumerate(kept)
    )
    excl = tuple(a for a, m in zip(names, mask.tolist(), strict=True) if not m)
    return CounterfactualFlips(tuple(kept), excl, rate, loss, moved, rep.n)


def counterfactual_flips(
    flip_loss: Tensor,
    flip_changed: Tensor,
    included: Tensor | Sequence[bool] | None = None,
    *,
    names: Sequence[str] | None = None,
    config: BootstrapConfig = DEFAULT,
    label_leak: Mapping[str, float] | None = None,
    toward: Tensor | None = None,
) -> CounterfactualFlips:
    """Flip rate, flip loss and moved share from per-probe loss changes (N, K) and right/wrong
    changes (N, K); the push too where `toward` (N, K, `toward_positive`) is given.

    Uses the same resamples as `sensitivity` for the same probes. `label_leak` names the
    attributes `included` leaves out because their flip moves the label (and by how much).
    """
    _check(flip_loss, flip_changed)
    names, mask = resolve_attributes(flip_loss.shape[1], names, included)
    if flip_loss.shape[0] == 0:
        raise EmptyMetricError("no probes: counterfactual flips need at least one probe")
    values = _values(flip_loss, flip_changed, mask)
    if toward is not None:
        if toward.shape != flip_loss.shape:
            raise ValueError(f"expected toward {tuple(flip_loss.shape)}, got {tuple(toward.shape)}")
        values = torch.cat([values, push_share(toward[:, mask].to(torch.float64))], dim=1)
    n_k = int(mask.sum())

    def sizes(means: Tensor) -> Tensor:  # the push is the size of its mean
        return torch.cat([means[..., : 3 * n_k], means[..., 3 * n_k :].abs()], dim=-1)

    rep = bootstrap(values, sizes, config)
    flips = _assemble(rep, names, mask)
    leak = dict(label_leak or {})
    if not set(leak) <= set(flips.excluded):
        raise ValueError(f"label_leak names attributes that are not left out: {sorted(leak)}")
    if toward is None:
        return dataclasses.replace(flips, label_leak=leak)
    push = tuple(
        rep.estimate(PUSH.format(a=a, move=defaults.PUSH_MOVE), (3 * n_k + j,))
        for j, a in enumerate(flips.attributes)
    )
    signed = values[:, 3 * n_k :].mean(dim=0)
    toward_sign = {
        a: 1 if float(v) >= 0 else -1 for a, v in zip(flips.attributes, signed, strict=True)
    }
    return dataclasses.replace(flips, label_leak=leak, push=push, push_toward=toward_sign)


def flips_difference(
    base: tuple[Tensor, Tensor],
    head: tuple[Tensor, Tensor],
    included: Tensor | Sequence[bool] | None = None,
    *,
    names: Sequence[str] | None = None,
    config: BootstrapConfig = DEFAULT,
    base_ids: Sequence[str] | None = None,
    head_ids: Sequence[str] | None = None,
) -> CounterfactualFlips:
    """Head minus baseline of every flip rate, flip loss and moved share, paired by probe.

    `base` and `head` are (flip_loss, flip_changed) of each audit, (N, K) each.
    """
    for loss, changed in (base, head):
        _check(loss, changed)
    names, mask = resolve_attributes(base[0].shape[1], names, included)
    rep = paired_bootstrap(
        _values(*base, mask), _values(*head, mask), None, config, base_ids=base_ids,
        head_ids=head_ids,
    )  # fmt: skip
    return _assemble(rep, names, mask, "Change head - baseline, paired by probe, of: ")
