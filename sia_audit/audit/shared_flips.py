"""Counterfactual flips from the editability check's own decodes.

The editability check decodes G(x0, a0) and the K single-attribute flips G(x0, flip_k(a0)) of
every probe for the attribute classifier. The counterfactual flips need the target's outcome on
exactly those images, so when both run, the target reads them there and the attack loop does
not decode them a second time. `FlipOutcomes` is what the check hands each decode to;
`with_flips` puts its per-probe arrays where the loop would have put them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import torch
from torch import Tensor

from sia_audit.audit.config import AuditConfig, resolve_device
from sia_audit.audit.loop import BatchNumbers
from sia_audit.generators.classifiers import AttributeClassifier
from sia_audit.probes.interface import ProbeSet
from sia_audit.targets.contract import Target


class FlipOutcomes:
    """The target's loss and right/wrong on each decode the editability check makes."""

    def __init__(self, probes: ProbeSet, target: Target, k: int, device: torch.device) -> None:
        self.target = target.to(device).eval()
        self.labels = target.task.labels(probes)
        self.device = device
        n = len(probes)
        # Column 0: the reconstruction G(x0, a0); column j + 1: attribute j flipped.
        self.loss = torch.full((n, k + 1), float("nan"))
        self.correct = torch.zeros(n, k + 1, dtype=torch.bool)

    @torch.no_grad()
    def __call__(self, idx: Sequence[int], j: int, images: Tensor) -> None:
        """Record decode `j` (-1: the reconstruction) of the probes `idx`."""
        task = self.target.task
        labels = self.labels[list(idx)].to(self.device)
        out = self.target(images.to(self.device))
        self.loss[list(idx), j + 1] = task.loss(out, labels).float().cpu()
        self.correct[list(idx), j + 1] = task.correct(out, labels).bool().cpu()

    def fill(self, loss: Tensor, correct: Tensor) -> None:
        """Every decode's outcome at once, as a previous run of the same inputs recorded them."""
        if loss.shape != self.loss.shape or correct.shape != self.correct.shape:
            raise ValueError(f"expected outcomes {tuple(self.loss.shape)}, got {tuple(loss.shape)}")
        self.loss = loss.float().clone()
        self.correct = correct.bool().clone()

    def arrays(self) -> tuple[Tensor, Tensor]:
        """(flip_loss, flip_changed), (N, K) each, as the attack loop computes them."""
        if torch.isnan(self.loss).any():
            raise RuntimeError("the editability check left some flips undecoded")
        return self.loss[:, 1:] - self.loss[:, :1], self.correct[:, 1:] != self.correct[:, :1]


def flip_outcomes(
    probes: ProbeSet,
    target: Target,
    classifier: AttributeClassifier | None,
    config: AuditConfig,
    k: int,
) -> FlipOutcomes | None:
    """A recorder when the audit wants flips and an editability check will decode them."""
    if not config.flips or classifier is None:
        return None
    return FlipOutcomes(probes, target, k, resolve_device(config.device))


def loop_config(config: AuditConfig, outcomes: FlipOutcomes | None) -> AuditConfig:
    """The attack loop's settings: no flips of its own when the check records them."""
    return config if outcomes is None else dataclasses.replace(config, flips=False)


def with_flips(
    numbers: list[BatchNumbers], outcomes: FlipOutcomes | None, main: str
) -> list[BatchNumbers]:
    """Each batch's main attack with its probes' recorded flips (batches are contiguous)."""
    if outcomes is None:
        return numbers
    flip_loss, flip_changed = outcomes.arrays()
    out = []
    for b in numbers:
        per_probe = b.attacks[main]
        rows = slice(b.start, b.start + len(per_probe["loss_adv"]))
        added = {"flip_loss": flip_loss[rows], "flip_changed": flip_changed[rows].float()}
        out.append(dataclasses.replace(b, attacks={**b.attacks, main: {**per_probe, **added}}))
    return out
