"""Path attribution: the first-order part of the attack's loss increase that each
attribute's movement carried, per attribute, with its share of the whole."""

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
class PathAttribution:
    """Per histogram attribute: the mean path term and its share of the first-order increase.

    `share` of attribute k is mean(path_a_k) / mean(sum_j path_a_j + path_x) over the probes: a
    fraction of the loss increase, comparable across attributes and across models (a loss
    drop is not: it grows with how wrong a model already is). `image` is the image's own term
    and its share. The terms of frozen attributes are zero and left out of the rows, not of
    the total.
    """

    attributes: tuple[str, ...]
    excluded: tuple[str, ...]
    path: tuple[Estimate, ...]
    share: tuple[Estimate, ...]
    image: Estimate
    image_share: Estimate
    total: Estimate
    n: int

    def as_dict(self) -> dict[str, Any]:
        rows = zip(self.attributes, self.path, self.share, strict=True)
        return {
            "n": self.n,
            "attributes": list(self.attributes),
            "excluded": list(self.excluded),
            "path": {a: p.as_dict() for a, p, _ in rows},
            "share": {a: s.as_dict() for a, s in zip(self.attributes, self.share, strict=True)},
            "image": self.image.as_dict(),
            "image_share": self.image_share.as_dict(),
            "total": self.total.as_dict(),
        }


def _statistic(means: Tensor) -> Tensor:
    # means: (R, L + 1) = per-attribute path terms, then the image term. Row: [paths, image,
    # total, shares, image share]; a share is undefined (NaN) where the total is not positive.
    total = means.sum(dim=-1, keepdim=True)
    safe = torch.where(total > 0, total, torch.full_like(total, float("nan")))
    return torch.cat([means, total, means / safe], dim=-1)


def path_attribution(
    path_a: Tensor,
    path_x: Tensor,
    included: Tensor | Sequence[bool] | None = None,
    *,
    names: Sequence[str] | None = None,
    config: BootstrapConfig = DEFAULT,
) -> PathAttribution:
    """Means and shares of per-probe path terms: attributes (N, K) and the image (N,)."""
    if path_a.dim() != 2 or path_x.shape != (path_a.shape[0],):
        raise ValueError(
            f"expected path_a (N, K) and path_x (N,), got {tuple(path_a.shape)} and "
            f"{tuple(path_x.shape)}"
        )
    names, mask = resolve_attributes(path_a.shape[1], names, included)
    if path_a.shape[0] == 0:
        raise EmptyMetricError("no probes: path attribution needs at least one probe")
    # Frozen attributes never move, so their terms are zero: the total is the same with or
    # without them, and they are simply not rows.
    values = torch.cat([path_a.detach().cpu()[:, mask], path_x.detach().cpu()[:, None]], dim=1)
    try:
        rep = bootstrap(values, _statistic, config)
    except EmptyMetricError:
        raise EmptyMetricError(
            "the attack did not raise the loss to first order: path shares are undefined"
        ) from None
    kept = [a for a, m in zip(names, mask.tolist(), strict=True) if m]
    n_l = len(kept)
    total_def = (
        "the first-order loss increase: the sum of every attribute's path term and the image's"
    )
    path = tuple(
        rep.estimate(
            f"Path attribution of {a}: mean over the probes of the sum over the attack's steps "
            "of dL/da_k times the step a_k took (the loss increase its moves carried, to first "
            "order)",
            (j,),
        )
        for j, a in enumerate(kept)
    )
    share = tuple(
        rep.estimate(
            f"Path share of {a}: its mean path attribution divided by the mean of {total_def}",
            (n_l + 2 + j,),
        )
        for j, a in enumerate(kept)
    )
    excl = tuple(a for a, m in zip(names, mask.tolist(), strict=True) if not m)
    return PathAttribution(
        attributes=tuple(kept),
        excluded=excl,
        path=path,
        share=share,
        image=rep.estimate(
            "Path attribution of the image: mean over the probes of the sum over the steps of "
            "dL/dx times the step x took",
            (n_l,),
        ),
        image_share=rep.estimate(
            f"Path share of the image: its mean path attribution divided by the mean of "
            f"{total_def}",
            (2 * n_l + 2,),
        ),
        total=rep.estimate(f"Mean over the probes of {total_def}", (n_l + 1,)),
        n=rep.n,
    )
