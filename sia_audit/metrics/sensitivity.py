"""Per-attribute sensitivity s, normalised histogram h and SDAR, with intervals."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor

from sia_audit.metrics.bootstrap import (
    DEFAULT,
    BootstrapConfig,
    Replicates,
    bootstrap,
    paired_bootstrap,
)
from sia_audit.metrics.estimate import EmptyMetricError, Estimate

A0_NOTE = "a_0 is the labelled vector; the paper's a_1 differs from it by at most eta_a"


def histogram_values(s: Tensor) -> Tensor:
    """h = s / sum(s) along the last dim; 0 where the sum is 0 (no attribute moved at all)."""
    total = s.sum(dim=-1, keepdim=True)
    return torch.where(total > 0, s / torch.where(total > 0, total, 1.0), torch.zeros_like(s))


def sdar_value(s: Tensor) -> Tensor:
    """Population standard deviation (1/L, not 1/(L-1)) along the last dim."""
    return s.std(dim=-1, correction=0)


def _stack_figures(s: Tensor, measurable: Tensor) -> Tensor:
    # One row per resample: [s_1..s_L, h_1..h_L, SDAR(s), SDAR(h)], so the whole statistic is
    # recomputed per resample and the intervals of s, h and SDAR come from the same draws.
    # h and SDAR are taken over the measurable attributes only (h = 0 for the others, unread):
    # an attribute the generator cannot draw says nothing about the target.
    # With no measurable attribute there is no histogram: h and both SDARs are 0 placeholders
    # (the definitions say so, and a gate on them is `unmeasurable`), never NaN.
    h = torch.zeros_like(s)
    if not bool(measurable.any()):
        zero = torch.zeros_like(s[..., :1])
        return torch.cat([s, h, zero, zero], dim=-1)
    m = s[..., measurable]
    h_m = histogram_values(m)
    h[..., measurable] = h_m
    return torch.cat([s, h, sdar_value(m).unsqueeze(-1), sdar_value(h_m).unsqueeze(-1)], dim=-1)


@dataclass(frozen=True)
class Sensitivity:
    """s_k, h_k over the histogram's attributes, and SDAR of s and of h, each with its interval."""

    attributes: tuple[str, ...]  # the histogram's attributes, in generator order
    excluded: tuple[str, ...]  # frozen attributes left out of the histogram
    s: tuple[Estimate, ...]
    h: tuple[Estimate, ...]  # aligned with `attributes`; meaningless for unmeasurable ones
    sdar_s: Estimate
    sdar_h: Estimate
    n: int
    # Histogram attributes the generator cannot draw (editability check): their s is reported,
    # but h and both SDARs leave them out.
    unmeasurable: tuple[str, ...] = ()

    @property
    def has_histogram(self) -> bool:
        """False when every histogram attribute is unmeasurable: h and SDAR are undefined."""
        return any(a not in self.unmeasurable for a in self.attributes)

    def h_of(self, name: str) -> Estimate | None:
        """h of a histogram attribute, None where it is unmeasurable."""
        return None if name in self.unmeasurable else self.h[self.attributes.index(name)]

    def as_dict(self) -> dict[str, Any]:
        measurable = [a for a in self.attributes if a not in self.unmeasurable]
        return {
            "n": self.n,
            "attributes": list(self.attributes),
            "excluded": list(self.excluded),
            "unmeasurable": list(self.unmeasurable),
            "s": {a: e.as_dict() for a, e in zip(self.attributes, self.s, strict=True)},
            "h": {a: self.h[self.attributes.index(a)].as_dict() for a in measurable},
            "sdar_s": self.sdar_s.as_dict(),
            "sdar_h": self.sdar_h.as_dict(),
        }


def resolve_attributes(
    k: int, names: Sequence[str] | None, included: Tensor | Sequence[bool] | None
) -> tuple[list[str], Tensor]:
    names = list(names) if names is not None else [f"attr{j}" for j in range(k)]
    if len(names) != k:
        raise ValueError(f"{len(names)} attribute names for {k} attributes")
    mask = (
        torch.ones(k, dtype=torch.bool)
        if included is None
        else torch.as_tensor(included, dtype=torch.bool).cpu()
    )
    if mask.shape != (k,):
        raise ValueError(f"included must be ({k},), got {tuple(mask.shape)}")
    if not mask.any():
        raise ValueError("every attribute is excluded: the histogram would be empty")
    return names, mask


def _check_delta(delta: Tensor) -> None:
    if delta.dim() != 2:
        raise ValueError(f"delta must be (N, K), got {tuple(delta.shape)}")
    if not torch.isfinite(delta).all():
        raise ValueError("delta holds non-finite values")


def resolve_measurable(
    names: Sequence[str], mask: Tensor, unmeasurable: Sequence[str]
) -> tuple[Tensor, tuple[str, ...]]:
    """(L,) mask over the histogram's attributes of those that are measurable, and the others.

    Unmeasurable attributes outside the histogram (frozen ones) are simply not in it. When no
    measurable attribute remains there is no histogram: s is still reported, h and SDAR are
    placeholders whose definitions say they are undefined (`Sensitivity.has_histogram`).
    """
    kept = [n for n, m in zip(names, mask.tolist(), strict=True) if m]
    unknown = sorted(set(unmeasurable) - set(names))
    if unknown:
        raise ValueError(f"unmeasurable attributes {unknown} are not among {list(names)}")
    measurable = torch.tensor([n not in unmeasurable for n in kept], dtype=torch.bool)
    return measurable, tuple(n for n in kept if n in unmeasurable)


def _assemble(
    rep: Replicates,
    names: list[str],
    mask: Tensor,
    meanings: dict[str, str],
    unmeasurable: tuple[str, ...] = (),
) -> Sensitivity:
    kept = [n for n, m in zip(names, mask.tolist(), strict=True) if m]
    excl = tuple(n for n, m in zip(names, mask.tolist(), strict=True) if not m)
    n_l = len(kept)
    s = tuple(rep.estimate(meanings["s"].replace("{name}", a), (j,)) for j, a in enumerate(kept))
    h = tuple(
        rep.estimate(meanings["h"].replace("{name}", a), (n_l + j,)) for j, a in enumerate(kept)
    )
    return Sensitivity(
        attributes=tuple(kept),
        excluded=excl,
        s=s,
        h=h,
        sdar_s=rep.estimate(meanings["sdar_s"], (2 * n_l,)),
        sdar_h=rep.estimate(meanings["sdar_h"], (2 * n_l + 1,)),
        n=rep.n,
        unmeasurable=unmeasurable,
    )


def _meanings(
    n_l: int, scope: str = "", source: str = "", prefix: str = "", n_unmeasurable: int = 0
) -> dict[str, str]:
    # "{name}" is filled per attribute in _assemble.
    if n_l == 0:
        undefined = (
            f"undefined{scope}: the generator cannot draw any of the {n_unmeasurable} histogram "
            "attributes, so there is no histogram (0 is a placeholder, not a finding)"
        )
        return {
            "s": (
                f"{prefix}Sensitivity of {{name}}: mean over the probes{scope} of "
                f"|a_T,k - a_0,k|{source} ({A0_NOTE})"
            ),
            "h": f"{prefix}Normalised sensitivity of {{name}}: {undefined}",
            "sdar_s": f"{prefix}SDAR of s: {undefined}",
            "sdar_h": f"{prefix}SDAR of h: {undefined}",
        }
    if n_unmeasurable:
        hist = (
            f"the L = {n_l} measurable histogram attributes (frozen attributes and the "
            f"{n_unmeasurable} the generator cannot draw excluded)"
        )
    else:
        hist = f"the L = {n_l} histogram attributes (frozen attributes excluded)"
    return {
        "s": (
            f"{prefix}Sensitivity of {{name}}: mean over the probes{scope} of |a_T,k - a_0,k|"
            f"{source} ({A0_NOTE})"
        ),
        "h": (
            f"{prefix}Normalised sensitivity of {{name}}{scope}: s_k divided by the sum of s over "
            f"{hist}; h = 0 when every s is 0"
        ),
        "sdar_s": f"{prefix}SDAR of s{scope}: population standard deviation (1/L) of s over {hist}",
        "sdar_h": (
            f"{prefix}SDAR of h{scope}: population standard deviation (1/L) of the normalised "
            f"histogram h over {hist}"
        ),
    }


def sensitivity(
    delta: Tensor,
    included: Tensor | Sequence[bool] | None = None,
    *,
    names: Sequence[str] | None = None,
    config: BootstrapConfig = DEFAULT,
    scope: str = "",
    source: str = "",
    unmeasurable: Sequence[str] = (),
) -> Sensitivity:
    """s, h and SDAR from per-probe attribute changes delta = a_T - a_0, (N, K).

    `included` (K,) marks the histogram's attributes (False for frozen ones; default all).
    `unmeasurable` names histogram attributes the generator cannot draw: they keep their s but
    are left out of h and SDAR. `scope`/`source` are clauses spliced into the definitions (used
    by the group and single-attribute variants). Raises EmptyMetricError for N = 0.
    """
    _check_delta(delta)
    names, mask = resolve_attributes(delta.shape[1], names, included)
    measurable, unmeas = resolve_measurable(names, mask, unmeasurable)
    if delta.shape[0] == 0:
        raise EmptyMetricError("no probes: sensitivity needs at least one probe")
    stat = functools.partial(_stack_figures, measurable=measurable)
    rep = bootstrap(delta.abs()[:, mask], stat, config)
    meanings = _meanings(int(measurable.sum()), scope, source, n_unmeasurable=len(unmeas))
    return _assemble(rep, names, mask, meanings, unmeas)


def sensitivity_difference(
    base_delta: Tensor,
    head_delta: Tensor,
    included: Tensor | Sequence[bool] | None = None,
    *,
    names: Sequence[str] | None = None,
    config: BootstrapConfig = DEFAULT,
    base_ids: Sequence[str] | None = None,
    head_ids: Sequence[str] | None = None,
    unmeasurable: Sequence[str] = (),
) -> Sensitivity:
    """Head minus baseline of every s_k, h_k and SDAR, paired by probe, with paired intervals.

    Regressions are significant where `excludes_zero(estimate)` holds.
    """
    _check_delta(base_delta)
    _check_delta(head_delta)
    names, mask = resolve_attributes(base_delta.shape[1], names, included)
    measurable, unmeas = resolve_measurable(names, mask, unmeasurable)
    rep = paired_bootstrap(
        base_delta.abs()[:, mask],
        head_delta.abs()[:, mask],
        functools.partial(_stack_figures, measurable=measurable),
        config,
        base_ids=base_ids,
        head_ids=head_ids,
    )
    prefix = "Change head - baseline, paired by probe, of: "
    meanings = _meanings(int(measurable.sum()), prefix=prefix, n_unmeasurable=len(unmeas))
    return _assemble(rep, names, mask, meanings, unmeas)


@dataclass(frozen=True)
class GroupSensitivity:
    """One group's figures, or the reason there are none (a group with no probe)."""

    label: str
    n: int
    sensitivity: Sensitivity | None
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "label": self.label,
            "n": self.n,
            "sensitivity": None if self.sensitivity is None else self.sensitivity.as_dict(),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class SubpopulationSensitivity:
    """Sensitivity within the probes of a group and within the rest (e.g. Male = 1 vs 0)."""

    attribute: str
    in_group: GroupSensitivity
    out_group: GroupSensitivity

    def as_dict(self) -> dict[str, Any]:
        return {
            "attribute": self.attribute,
            "in_group": self.in_group.as_dict(),
            "out_group": self.out_group.as_dict(),
        }


def _group(
    delta: Tensor,
    label: str,
    included: Tensor | Sequence[bool] | None,
    names: Sequence[str] | None,
    config: BootstrapConfig,
    unmeasurable: Sequence[str],
) -> GroupSensitivity:
    n = delta.shape[0]
    if n == 0:
        return GroupSensitivity(label, 0, None, "no probe falls in this group")
    # A one-probe group keeps its figures; its intervals collapse to the value and say so.
    sens = sensitivity(
        delta,
        included,
        names=names,
        config=config,
        scope=f" with {label}",
        unmeasurable=unmeasurable,
    )
    return GroupSensitivity(label, n, sens)


def subpopulation_sensitivity(
    delta: Tensor,
    group: Tensor,
    included: Tensor | Sequence[bool] | None = None,
    *,
    attribute: str = "group",
    names: Sequence[str] | None = None,
    config: BootstrapConfig = DEFAULT,
    unmeasurable: Sequence[str] = (),
) -> SubpopulationSensitivity:
    """s, h, SDAR over the probes where `group` (N,) is True, and over those where it is False.

    Each group is resampled within itself. A group with one probe is reported with n = 1 and no
    interval; an empty group with a reason instead of figures.
    """
    _check_delta(delta)
    mask = torch.as_tensor(group, dtype=torch.bool).cpu()
    if mask.shape != (delta.shape[0],):
        raise ValueError(f"group must be ({delta.shape[0]},), got {tuple(mask.shape)}")
    d = delta.detach().cpu()
    return SubpopulationSensitivity(
        attribute=attribute,
        in_group=_group(d[mask], f"{attribute} = 1", included, names, config, unmeasurable),
        out_group=_group(d[~mask], f"{attribute} = 0", included, names, config, unmeasurable),
    )


def single_attribute_sensitivity(
    deltas: Tensor | Sequence[Tensor | None],
    included: Tensor | Sequence[bool] | None = None,
    *,
    names: Sequence[str] | None = None,
    config: BootstrapConfig = DEFAULT,
    unmeasurable: Sequence[str] = (),
) -> Sensitivity:
    """Single-attribute mode (paper 4.2.3): s_k from column k of run k, which updated only k.

    `deltas` is (K, N, K) or K matrices (N, K), one per run, on the same probes in the same
    order; a run may be None where attribute k is excluded (frozen) and was not run.
    """
    runs = list(deltas) if not isinstance(deltas, Tensor) else list(deltas.unbind(0))
    k = len(runs)
    names, mask = resolve_attributes(k, names, included)
    shapes = {tuple(r.shape) for r in runs if r is not None}
    if len(shapes) != 1 or next(iter(shapes))[1:] != (k,):
        raise ValueError(f"expected {k} run matrices of one shape (N, {k}), got {shapes}")
    n = next(iter(shapes))[0]
    cols = []
    for j, run in enumerate(runs):
        if run is None:
            if bool(mask[j]):
                raise ValueError(f"run {j} ({names[j]}) is missing but the attribute is included")
            cols.append(torch.zeros(n, dtype=torch.float64))
        else:
            cols.append(run[:, j].detach().to("cpu", torch.float64))
    source = ", taken from the run that updates only this attribute (single-attribute mode)"
    return sensitivity(
        torch.stack(cols, dim=1),
        mask,
        names=names,
        config=config,
        source=source,
        unmeasurable=unmeasurable,
    )
