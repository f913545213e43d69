"""Bootstrap: seeded, vectorised, equal to a literal loop, and paired for regressions."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from sia_audit.metrics import (
    BootstrapConfig,
    EmptyMetricError,
    Estimate,
    excludes_zero,
    mean_estimate,
    paired_mean_difference,
    resample_indices,
)
from sia_audit.metrics.bootstrap import bootstrap

CFG = BootstrapConfig(resamples=1000, seed=7, level=0.95)


@pytest.fixture
def values() -> torch.Tensor:
    return torch.randn(40, generator=torch.Generator().manual_seed(1), dtype=torch.float64)


def test_same_seed_same_interval_other_seed_other(values: torch.Tensor) -> None:
    a = mean_estimate(values, "x", CFG)
    b = mean_estimate(values, "x", CFG)
    c = mean_estimate(values, "x", BootstrapConfig(resamples=1000, seed=8))
    assert (a.low, a.high) == (b.low, b.high)
    assert (a.low, a.high) != (c.low, c.high)
    assert a.value == c.value == pytest.approx(float(values.mean()))


def test_mean_interval_contains_point_and_says_how(values: torch.Tensor) -> None:
    est = mean_estimate(values, "Mean of x", CFG)
    assert est.low < est.value < est.high
    assert est.n == 40 and est.level == 0.95 and est.has_interval
    assert est.definition.startswith("Mean of x; 95% percentile bootstrap over the 40 probes")
    assert "1000 resamples, seed 7" in est.definition


def test_constant_vector_gives_degenerate_interval() -> None:
    est = mean_estimate(torch.full((25,), 0.3, dtype=torch.float64), "c", CFG)
    assert est.low == pytest.approx(0.3, abs=1e-12)
    assert est.high == pytest.approx(0.3, abs=1e-12)


def test_percentiles_match_a_literal_python_loop(values: torch.Tensor) -> None:
    idx = resample_indices(values.numel(), CFG)
    assert idx.shape == (1000, 40)
    reps = [float(values[idx[r]].mean()) for r in range(idx.shape[0])]
    low, high = np.percentile(reps, [2.5, 97.5])
    est = mean_estimate(values, "x", CFG)
    assert est.low == pytest.approx(low, abs=1e-12)
    assert est.high == pytest.approx(high, abs=1e-12)


def test_resamples_are_shared_by_figures_on_the_same_probes() -> None:
    assert torch.equal(resample_indices(30, CFG), resample_indices(30, CFG))
    assert not torch.equal(resample_indices(30, CFG), resample_indices(31, CFG)[:, :30])


def test_zero_probes_is_a_clear_error_and_one_probe_has_no_interval() -> None:
    with pytest.raises(EmptyMetricError, match="no probes"):
        mean_estimate(torch.zeros(0), "x", CFG)
    assert issubclass(EmptyMetricError, ValueError)
    one = mean_estimate(torch.tensor([0.7]), "x", CFG)
    assert one.low == one.high == one.value == pytest.approx(0.7)
    assert not one.has_interval and "no interval" in one.definition


def test_vector_statistic_evaluated_per_resample() -> None:
    x = torch.rand(20, 3, generator=torch.Generator().manual_seed(2), dtype=torch.float64)
    rep = bootstrap(x, lambda m: m.max(dim=-1).values, CFG)
    idx = resample_indices(20, CFG)
    loop = [float(x[idx[r]].mean(dim=0).max()) for r in range(1000)]
    assert float(rep.low) == pytest.approx(np.percentile(loop, 2.5), abs=1e-12)
    assert float(rep.high) == pytest.approx(np.percentile(loop, 97.5), abs=1e-12)


def test_paired_difference_detects_a_shift_and_not_noise(values: torch.Tensor) -> None:
    shifted = values + 0.5 + 0.05 * torch.randn(40, generator=torch.Generator().manual_seed(3))
    est = paired_mean_difference(values, shifted, "x", CFG)
    assert est.value == pytest.approx(float((shifted - values).mean()))
    assert excludes_zero(est) and est.low > 0
    noise = torch.randn(40, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    noisy = values + 0.3 * (noise - noise.mean())  # no shift at all: the mean difference is 0
    est = paired_mean_difference(values, noisy, "x", CFG)
    assert est.value == pytest.approx(0.0, abs=1e-12)
    assert not excludes_zero(est) and est.low < 0 < est.high


def test_pairing_by_id_reorders_head(values: torch.Tensor) -> None:
    ids = [f"p{i}" for i in range(40)]
    head = values + torch.linspace(0, 1, 40, dtype=torch.float64)
    perm = torch.randperm(40, generator=torch.Generator().manual_seed(5))
    by_row = paired_mean_difference(values, head, "x", CFG)
    by_id = paired_mean_difference(
        values, head[perm], "x", CFG, base_ids=ids, head_ids=[ids[i] for i in perm.tolist()]
    )
    assert (by_id.value, by_id.low, by_id.high) == pytest.approx(
        (by_row.value, by_row.low, by_row.high), abs=1e-12
    )
    with pytest.raises(ValueError, match="different probes"):
        paired_mean_difference(values, head, "x", CFG, base_ids=ids, head_ids=ids[:-1] + ["q"])


def test_estimate_is_finite_and_round_trips() -> None:
    est = Estimate(0.5, 0.4, 0.6, 10, 0.95, "d")
    assert Estimate.from_dict(est.as_dict()) == est
    with pytest.raises(ValueError, match="finite"):
        Estimate(math.inf, 0.0, 1.0, 3, 0.95, "d")
    with pytest.raises(ValueError, match="level"):
        BootstrapConfig(level=1.5)


def test_non_finite_values_are_refused() -> None:
    with pytest.raises(ValueError, match="NaN or inf"):
        mean_estimate(torch.tensor([0.1, float("nan")]), "x", CFG)
