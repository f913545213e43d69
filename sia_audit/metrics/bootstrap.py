"""Seeded percentile bootstrap over probe images, vectorised over resamples, plain and paired."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from sia_audit import defaults
from sia_audit.metrics.estimate import EmptyMetricError, Estimate

# A statistic maps resampled means of per-probe values, (B, *shape), to figures, (B, *out).
# Every figure here (means, ratios of means, std of means) is a function of probe means, which
# is what lets one (R, n) count matrix evaluate all resamples in one matrix product. A NaN marks
# a resample where the figure is undefined (e.g. ASR with no probe correct on x0): it is left out.
Statistic = Callable[[Tensor], Tensor]


@dataclass(frozen=True)
class BootstrapConfig:
    """How intervals are drawn: number of resamples, seed, and confidence level."""

    resamples: int = defaults.BOOTSTRAP_RESAMPLES
    seed: int = defaults.BOOTSTRAP_SEED
    level: float = defaults.BOOTSTRAP_LEVEL

    def __post_init__(self) -> None:
        if self.resamples < 1:
            raise ValueError(f"resamples must be >= 1, got {self.resamples}")
        if not 0.0 < self.level < 1.0:
            raise ValueError(f"level must be in (0, 1), got {self.level}")


DEFAULT = BootstrapConfig()


@functools.lru_cache(maxsize=16)
def _indices(n: int, resamples: int, seed: int) -> Tensor:
    # Drawn once per (n, resamples, seed): every figure over the same probes with the same seed
    # sees the same resamples, so intervals of related figures are coherent.
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, n, (resamples, n), generator=g)


@functools.lru_cache(maxsize=16)
def _counts(n: int, resamples: int, seed: int) -> Tensor:
    idx = _indices(n, resamples, seed)
    counts = torch.zeros(resamples, n, dtype=torch.float64)
    return counts.scatter_add_(1, idx, torch.ones_like(idx, dtype=torch.float64))


def resample_indices(n: int, config: BootstrapConfig = DEFAULT) -> Tensor:
    """The (resamples, n) matrix of probe indices drawn for n probes (a copy)."""
    if n < 1:
        raise EmptyMetricError("cannot resample zero probes")
    return _indices(n, config.resamples, config.seed).clone()


def resampled_means(values: Tensor, config: BootstrapConfig = DEFAULT) -> Tensor:
    """Means of per-probe values (N, *shape) over every resample: (resamples, *shape), float64."""
    n = values.shape[0]
    if n < 1:
        raise EmptyMetricError("no probes: nothing to average")
    flat = values.detach().to("cpu", torch.float64).reshape(n, -1)
    means = _counts(n, config.resamples, config.seed) @ flat / n
    return means.reshape(config.resamples, *values.shape[1:])


def describe_interval(n: int, config: BootstrapConfig = DEFAULT, dropped: int = 0) -> str:
    """The clause a definition ends with: how the interval was drawn."""
    if n == 1:
        return "one probe, so no interval (low = high = value)"
    text = (
        f"{config.level * 100:g}% percentile bootstrap over the {n} probes "
        f"({config.resamples} resamples, seed {config.seed})"
    )
    if dropped:
        text += f", leaving out the {dropped} resamples where the figure was undefined"
    return text


@dataclass(frozen=True)
class Replicates:
    """Point values and percentile bounds of a statistic (tensors of the statistic's shape)."""

    value: Tensor
    low: Tensor
    high: Tensor
    n: int
    dropped: int  # resamples left out because the statistic was undefined (NaN) there
    config: BootstrapConfig
    reps: Tensor | None = None  # the statistic on every resample, (R, *shape); None for n = 1

    def estimate(self, meaning: str, index: tuple[int, ...] = (), n: int | None = None) -> Estimate:
        """One element as an Estimate whose definition is `meaning` plus the interval method."""
        return Estimate(
            value=float(self.value[index]),
            low=float(self.low[index]),
            high=float(self.high[index]),
            n=self.n if n is None else n,
            level=self.config.level,
            definition=f"{meaning}; {describe_interval(self.n, self.config, self.dropped)}.",
        )


def _check_finite(values: Tensor) -> None:
    if not torch.isfinite(values).all():
        raise ValueError("per-probe values hold NaN or inf: a figure over them would be undefined")


def _identity(means: Tensor) -> Tensor:
    return means


def _summarise(point: Tensor, reps: Tensor, n: int, config: BootstrapConfig) -> Replicates:
    if torch.isnan(point).any():
        raise EmptyMetricError("the statistic is undefined on the full sample")
    if n == 1:
        return Replicates(point, point.clone(), point.clone(), n, 0, config, None)
    undefined = torch.isnan(reps).reshape(reps.shape[0], -1).any(dim=1)
    q = torch.tensor([(1.0 - config.level) / 2.0, (1.0 + config.level) / 2.0], dtype=reps.dtype)
    bounds = torch.nanquantile(reps, q, dim=0)  # linear interpolation, as numpy.percentile
    # An element undefined in every resample keeps its point value rather than a NaN bound.
    bounds = torch.where(torch.isnan(bounds), point.expand_as(bounds), bounds)
    return Replicates(point, bounds[0], bounds[1], n, int(undefined.sum()), config, reps)


def bootstrap(
    values: Tensor, statistic: Statistic | None = None, config: BootstrapConfig = DEFAULT
) -> Replicates:
    """Percentile bootstrap of `statistic` (default: the mean) of per-probe values (N, *shape)."""
    stat = statistic or _identity
    n = values.shape[0]
    if n < 1:
        raise EmptyMetricError("no probes: a figure needs at least one probe")
    v = values.detach().to("cpu", torch.float64)
    _check_finite(v)
    point = stat(v.mean(dim=0, keepdim=True))[0]
    return _summarise(point, stat(resampled_means(v, config)), n, config)


def align_by_id(base_ids: Sequence[str], head_ids: Sequence[str]) -> Tensor:
    """Indices into head that put its probes in base's order; the two id sets must be equal."""
    if len(set(base_ids)) != len(base_ids) or len(set(head_ids)) != len(head_ids):
        raise ValueError("probe ids must be unique within each run to pair them")
    position = {pid: i for i, pid in enumerate(head_ids)}
    missing = [pid for pid in base_ids if pid not in position]
    extra = len(head_ids) - (len(base_ids) - len(missing))
    if missing or extra:
        raise ValueError(
            f"baseline and head were run on different probes ({len(missing)} baseline probes "
            f"missing from head, {extra} head probes not in baseline): rerun both on one probe set"
        )
    return torch.tensor([position[pid] for pid in base_ids], dtype=torch.long)


def paired_bootstrap(
    base: Tensor,
    head: Tensor,
    statistic: Statistic | None = None,
    config: BootstrapConfig = DEFAULT,
    *,
    base_ids: Sequence[str] | None = None,
    head_ids: Sequence[str] | None = None,
) -> Replicates:
    """Bootstrap of statistic(head) - statistic(base) over the same probes, resampled jointly.

    Pass probe ids to pair by id; without them, row p of base and row p of head are one probe.
    """
    if (base_ids is None) != (head_ids is None):
        raise ValueError("pass both base_ids and head_ids, or neither")
    if base_ids is not None and head_ids is not None:
        if len(base_ids) != base.shape[0] or len(head_ids) != head.shape[0]:
            raise ValueError("probe ids must have one entry per row of their values")
        head = head[align_by_id(base_ids, head_ids)]
    if base.shape != head.shape:
        raise ValueError(
            f"paired values must have one shape, got {tuple(base.shape)} and {tuple(head.shape)}"
        )
    stat = statistic or _identity
    n = base.shape[0]
    if n < 1:
        raise EmptyMetricError("no probes: a figure needs at least one probe")
    b = base.detach().to("cpu", torch.float64)
    h = head.detach().to("cpu", torch.float64)
    _check_finite(b)
    _check_finite(h)
    point = stat(h.mean(dim=0, keepdim=True))[0] - stat(b.mean(dim=0, keepdim=True))[0]
    reps = stat(resampled_means(h, config)) - stat(resampled_means(b, config))
    return _summarise(point, reps, n, config)


def mean_estimate(values: Tensor, meaning: str, config: BootstrapConfig = DEFAULT) -> Estimate:
    """The mean of per-probe values (N,) with its interval; `meaning` opens the definition."""
    if values.dim() != 1:
        raise ValueError(f"expected per-probe values (N,), got {tuple(values.shape)}")
    return bootstrap(values, None, config).estimate(meaning)


def paired_mean_difference(
    base: Tensor,
    head: Tensor,
    meaning: str,
    config: BootstrapConfig = DEFAULT,
    *,
    base_ids: Sequence[str] | None = None,
    head_ids: Sequence[str] | None = None,
) -> Estimate:
    """mean(head) - mean(base) over paired probes (N,), with its paired interval."""
    if base.dim() != 1 or head.dim() != 1:
        raise ValueError("expected per-probe values (N,) for base and head")
    rep = paired_bootstrap(base, head, None, config, base_ids=base_ids, head_ids=head_ids)
    return rep.estimate(f"Change head - baseline of {meaning}, paired by probe")


def excludes_zero(estimate: Estimate) -> bool:
    """True when the interval of a difference lies wholly above or below zero (significant)."""
    return estimate.excludes(0.0)


def simultaneous_margin(point: Tensor, reps: Tensor, level: float) -> tuple[Tensor, float]:
    """One-sided bounds that hold for every element at once: the max-T bootstrap.

    `point` (C,) and `reps` (R, C) are C figures (of any scales) and their paired replicates.
    Each is standardised by its bootstrap standard error; c is the `level` quantile over the
    resamples of the largest standardised excess, max_k (rep_k - point_k) / se_k. Then
    point_k - c * se_k lies below every true value at once with probability `level`: testing
    C figures raises no more false alarms than testing one, and correlated figures (the same
    probes) cost less than a Bonferroni correction would. Returns (c * se (C,), c). A figure
    that never varies (se 0) gets a margin of 0; NaN resamples are left out.
    """
    if reps.dim() != 2 or point.shape != reps.shape[1:]:
        raise ValueError(f"expected point (C,) and reps (R, C), got {point.shape}, {reps.shape}")
    reps = reps[~torch.isnan(reps).any(dim=1)]
    if reps.shape[0] < 2 or point.numel() == 0:
        return torch.zeros_like(point), 0.0
    se = reps.std(dim=0)
    varies = se > 0
    if not bool(varies.any()):
        return torch.zeros_like(point), 0.0
    excess = (reps[:, varies] - point[varies]) / se[varies]
    c = float(torch.quantile(excess.amax(dim=1), level))
    return torch.where(varies, c * se, torch.zeros_like(se)), c
