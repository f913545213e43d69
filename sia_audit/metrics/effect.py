"""Attribute effect: per attribute, the mean loss drop from undoing its change alone."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from sia_audit.metrics.bootstrap import DEFAULT, BootstrapConfig, bootstrap
from sia_audit.metrics.estimate import EmptyMetricError, Estimate
from sia_audit.metrics.sensitivity import resolve_attributes


@dataclass(frozen=True)
class AttributeEffects:
    """Mean loss drop per histogram attribute, aligned with `Sensitivity.attributes`."""

    attributes: tuple[str, ...]
    excluded: tuple[str, ...]
    effect: tuple[Estimate, ...]
    n: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "n": self.n,
            "attributes": list(self.attributes),
            "excluded": list(self.excluded),
            "effect": {a: e.as_dict() for a, e in zip(self.attributes, self.effect, strict=True)},
        }


def attribute_effect(
    drops: Tensor,
    included: Tensor | Sequence[bool] | None = None,
    *,
    names: Sequence[str] | None = None,
    config: BootstrapConfig = DEFAULT,
) -> AttributeEffects:
    """Mean per attribute of per-probe loss drops (N, K), L(G(x_T, a_T)) - L(a_k reset to a_0,k).

    Uses the same resamples as `sensitivity` for the same probes and config, so the two can be
    read side by side. Drops may be negative (undoing a change can raise the loss).
    """
    if drops.dim() != 2:
        raise ValueError(f"drops must be (N, K), got {tuple(drops.shape)}")
    if not torch.isfinite(drops).all():
        raise ValueError("drops holds non-finite values")
    names, mask = resolve_attributes(drops.shape[1], names, included)
    if drops.shape[0] == 0:
        raise EmptyMetricError("no probes: the attribute effect needs at least one probe")
    rep = bootstrap(drops.detach().cpu()[:, mask], None, config)
    kept = [a for a, m in zip(names, mask.tolist(), strict=True) if m]
    effect = tuple(
        rep.estimate(
            f"Attribute effect of {a}: mean over the probes of the target's loss drop when "
            f"a_T,k alone is reset to a_0,k in the final adversary",
            (j,),
        )
        for j, a in enumerate(kept)
    )
    excl = tuple(a for a, m in zip(names, mask.tolist(), strict=True) if not m)
    return AttributeEffects(tuple(kept), excl, effect, rep.n)
