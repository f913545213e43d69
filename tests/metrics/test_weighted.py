"""Weighted sensitivity: s times the effect share, its interval, and when it is undefined."""

from __future__ import annotations

import pytest
import torch

from sia_audit.metrics import BootstrapConfig, EmptyMetricError, sensitivity
from sia_audit.metrics.weighted import WeightedInputs, weighted_difference, weighted_sensitivity

CONFIG = BootstrapConfig(resamples=200)


def _probes(n: int = 40) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    # Attribute 0 moves a little but carries most of the loss; 1 moves far and carries none;
    # 2 is frozen (never moves).
    delta = torch.stack(
        [
            0.1 + 0.02 * torch.rand(n, generator=g),
            0.6 * torch.sign(torch.rand(n, generator=g) - 0.5),
            torch.zeros(n),
        ],
        dim=1,
    )
    effects = torch.stack(
        [
            0.8 + 0.1 * torch.rand(n, generator=g),
            0.01 * torch.randn(n, generator=g),
            torch.zeros(n),
        ],
        dim=1,
    )
    rise = torch.full((n,), 1.0)
    return delta, effects, rise


def test_the_value_is_s_times_the_floored_share() -> None:
    delta, effects, rise = _probes()
    included = [True, True, False]
    w = weighted_sensitivity(delta, effects, rise, included, names=["A", "B", "C"], config=CONFIG)
    assert w.attributes == ("A", "B") and w.excluded == ("C",)
    s = delta.abs().mean(0)
    share = (effects.mean(0) / rise.mean()).clamp_min(0)
    assert w.of("A").value == pytest.approx(float(s[0] * share[0]), rel=1e-6)
    assert w.of("B").value == pytest.approx(float(s[1] * share[1]), abs=1e-9)
    # The attribute moved furthest by s is not the one the loss rode on.
    sens = sensitivity(delta, included, names=["A", "B", "C"], config=CONFIG)
    assert sens.s[1].value > sens.s[0].value
    assert w.of("A").value > 10 * w.of("B").value
    assert w.of("A").low <= w.of("A").value <= w.of("A").high
    assert "share of the attack's loss increase" in w.of("A").definition


def test_a_share_below_zero_counts_as_zero() -> None:
    delta, effects, rise = _probes()
    effects[:, 1] = -0.5  # undoing B's move would raise the loss
    w = weighted_sensitivity(delta, effects, rise, names=["A", "B", "C"], config=CONFIG)
    assert w.of("B").value == 0.0 and w.of("B").high == 0.0


def test_no_loss_increase_or_no_probes_is_an_empty_metric() -> None:
    delta, effects, rise = _probes()
    with pytest.raises(EmptyMetricError, match="did not raise"):
        weighted_sensitivity(delta, effects, -rise, names=["A", "B", "C"], config=CONFIG)
    with pytest.raises(EmptyMetricError, match="no probes"):
        weighted_sensitivity(delta[:0], effects[:0], rise[:0], config=CONFIG)
    with pytest.raises(ValueError, match="expected delta"):
        weighted_sensitivity(delta, effects[:, :2], rise, config=CONFIG)


def test_the_paired_difference_is_head_minus_baseline_paired_by_probe() -> None:
    delta, effects, rise = _probes()
    base = WeightedInputs(delta, effects, rise)
    leaning = effects.clone()
    leaning[:, 1] += 0.3  # the head's loss now rides on attribute 1 too
    head = WeightedInputs(delta, leaning, rise)
    included = [True, True, False]
    same = weighted_difference(base, base, included, config=CONFIG)
    assert all(e.value == 0 and e.low == 0 and e.high == 0 for e in same.w)
    diff = weighted_difference(base, head, included, config=CONFIG)
    w_base = weighted_sensitivity(delta, effects, rise, included, config=CONFIG)
    w_head = weighted_sensitivity(delta, leaning, rise, included, config=CONFIG)
    for j in range(2):
        assert diff.w[j].value == pytest.approx(w_head.w[j].value - w_base.w[j].value)
    assert diff.w[1].low > 0.1  # 0.6 * 0.3 / 1.0 = 0.18, the interval clear of zero
    assert diff.w[0].value == pytest.approx(0.0, abs=1e-12)
    # Rows paired by probe name: the head's rows in another order give the same figures.
    ids = [f"p{i}" for i in range(len(delta))]
    order = torch.randperm(len(delta), generator=torch.Generator().manual_seed(1))
    shuffled = WeightedInputs(delta[order], leaning[order], rise[order])
    again = weighted_difference(
        base, shuffled, included, config=CONFIG, base_ids=ids, head_ids=[ids[i] for i in order]
    )
    assert [e.value for e in again.w] == pytest.approx([e.value for e in diff.w])


def test_a_difference_with_an_audit_that_raised_no_loss_is_empty() -> None:
    delta, effects, rise = _probes()
    flat = WeightedInputs(delta, effects, torch.zeros_like(rise))
    with pytest.raises(EmptyMetricError, match="head attack did not raise"):
        weighted_difference(WeightedInputs(delta, effects, rise), flat, config=CONFIG)
