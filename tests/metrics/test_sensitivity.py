"""Sensitivity s, histogram h, SDAR, sub-populations, single-attribute mode and attribute effect."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from sia_audit.metrics import (
    BootstrapConfig,
    EmptyMetricError,
    attribute_effect,
    excludes_zero,
    resample_indices,
    sensitivity,
    sensitivity_difference,
    single_attribute_sensitivity,
    subpopulation_sensitivity,
)

CFG = BootstrapConfig(resamples=500, seed=3)
NAMES = ["A", "B", "C", "Frozen"]
INCLUDED = [True, True, True, False]
# |delta| column means over the first three attributes: s = (0.2, 0.3, 0.1); column 4 is frozen.
DELTA = torch.tensor(
    [[0.3, -0.6, 0.0, 0.9], [0.0, 0.3, -0.3, 0.5], [0.3, 0.0, 0.0, -0.1]], dtype=torch.float64
)


def values(ests) -> list[float]:
    return [e.value for e in ests]


def test_s_h_and_sdar_by_hand() -> None:
    sens = sensitivity(DELTA, INCLUDED, names=NAMES, config=CFG)
    assert sens.attributes == ("A", "B", "C") and sens.excluded == ("Frozen",)
    assert values(sens.s) == pytest.approx([0.2, 0.3, 0.1])
    assert values(sens.h) == pytest.approx([1 / 3, 1 / 2, 1 / 6])
    assert sum(values(sens.h)) == pytest.approx(1.0)
    # Population std (1/L): sqrt(0.02 / 3) for s, sqrt(1/54) for h, not the sample 0.1 and 1/6.
    assert sens.sdar_s.value == pytest.approx(math.sqrt(0.02 / 3))
    assert sens.sdar_h.value == pytest.approx(math.sqrt(1 / 54))
    assert sens.n == 3
    assert "population standard deviation (1/L)" in sens.sdar_s.definition
    assert "a_0 is the labelled vector" in sens.s[0].definition


def test_frozen_attribute_changes_nothing_in_the_histogram() -> None:
    moved = DELTA.clone()
    moved[:, 3] = 1.0
    a = sensitivity(DELTA, INCLUDED, names=NAMES, config=CFG)
    b = sensitivity(moved, INCLUDED, names=NAMES, config=CFG)
    assert a == b


def test_all_zero_histogram_defines_h_as_zero() -> None:
    sens = sensitivity(torch.zeros(4, 3), config=CFG)
    assert values(sens.h) == [0.0, 0.0, 0.0]
    assert sens.sdar_h.value == 0.0 and "h = 0 when every s is 0" in sens.h[0].definition


def test_sdar_interval_recomputes_the_whole_statistic_per_resample() -> None:
    delta = torch.rand(30, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    sens = sensitivity(delta, config=CFG)
    idx = resample_indices(30, CFG)
    loop_sdar, loop_h0 = [], []
    for r in range(CFG.resamples):
        s = delta[idx[r]].abs().mean(dim=0)
        loop_sdar.append(float(s.std(correction=0)))
        loop_h0.append(float(s[0] / s.sum()))
    for est, loop in ((sens.sdar_s, loop_sdar), (sens.h[0], loop_h0)):
        assert est.low == pytest.approx(np.percentile(loop, 2.5), abs=1e-12)
        assert est.high == pytest.approx(np.percentile(loop, 97.5), abs=1e-12)


def test_subpopulation_split_on_a_known_mask() -> None:
    sub = subpopulation_sensitivity(
        DELTA,
        torch.tensor([True, False, True]),
        INCLUDED,
        attribute="Male",
        names=NAMES,
        config=CFG,
    )
    assert sub.in_group.label == "Male = 1" and sub.in_group.n == 2
    assert values(sub.in_group.sensitivity.s) == pytest.approx([0.3, 0.3, 0.0])
    one = sub.out_group.sensitivity
    assert sub.out_group.n == 1 and values(one.s) == pytest.approx([0.0, 0.3, 0.3])
    assert all(e.low == e.high == e.value and not e.has_interval for e in one.s)
    assert "no interval" in one.sdar_s.definition and "Male = 0" in one.s[0].definition
    empty = subpopulation_sensitivity(DELTA, torch.ones(3, dtype=torch.bool), config=CFG)
    assert empty.out_group.n == 0 and empty.out_group.sensitivity is None
    assert empty.out_group.reason and empty.as_dict()["out_group"]["sensitivity"] is None


def test_single_attribute_assembly_takes_column_k_of_run_k() -> None:
    runs = torch.full((3, 2, 3), 9.0, dtype=torch.float64)  # off-diagonal columns are ignored
    runs[0, :, 0] = torch.tensor([0.1, -0.3])
    runs[1, :, 1] = torch.tensor([0.0, 0.4])
    runs[2, :, 2] = torch.tensor([-0.5, 0.5])
    sens = single_attribute_sensitivity(runs, names=["A", "B", "C"], config=CFG)
    assert values(sens.s) == pytest.approx([0.2, 0.2, 0.5])
    assert "single-attribute mode" in sens.s[0].definition
    # A frozen attribute need not be run at all.
    sens = single_attribute_sensitivity([runs[0], None, runs[2]], [True, False, True], config=CFG)
    assert values(sens.s) == pytest.approx([0.2, 0.5]) and sens.excluded == ("attr1",)
    with pytest.raises(ValueError, match="missing"):
        single_attribute_sensitivity([runs[0], None, runs[2]], config=CFG)


def test_attribute_effect_uses_the_same_resamples_as_s() -> None:
    delta = torch.randn(25, 3, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    sens = sensitivity(delta, config=CFG)
    eff = attribute_effect(delta.abs(), config=CFG)
    assert [(e.value, e.low, e.high) for e in eff.effect] == [
        (e.value, e.low, e.high) for e in sens.s
    ]
    assert "reset to a_0,k" in eff.effect[0].definition
    assert list(eff.as_dict()["effect"]) == ["attr0", "attr1", "attr2"]


def test_paired_sensitivity_difference() -> None:
    gen = torch.Generator().manual_seed(2)
    base = 0.1 * torch.rand(60, 3, generator=gen, dtype=torch.float64)
    head = base.clone()
    head[:, 0] += 0.2  # attribute 0 moves a lot more in head
    diff = sensitivity_difference(base, head, config=CFG)
    assert diff.s[0].value == pytest.approx(0.2) and excludes_zero(diff.s[0])
    assert diff.s[1].value == 0.0 and not excludes_zero(diff.s[1])
    assert excludes_zero(diff.sdar_s) and diff.sdar_s.definition.startswith("Change head")


def test_bad_inputs_are_clear_errors() -> None:
    with pytest.raises(EmptyMetricError):
        sensitivity(torch.zeros(0, 3), config=CFG)
    with pytest.raises(ValueError, match="every attribute is excluded"):
        sensitivity(DELTA, [False] * 4, config=CFG)
    with pytest.raises(ValueError, match="names"):
        sensitivity(DELTA, names=["A"], config=CFG)
    with pytest.raises(ValueError, match="non-finite"):
        sensitivity(torch.tensor([[math.nan]]), config=CFG)


def test_no_measurable_attribute_leaves_s_and_placeholders() -> None:
    """Every histogram attribute unmeasurable: s is kept, h and SDAR are 0 placeholders whose
    definitions say they are undefined (a report is still written, the gates say unmeasurable)."""
    delta = torch.tensor([[0.1, 0.3, 0.0], [0.2, 0.1, 0.0]])
    sens = sensitivity(
        delta,
        [True, True, False],
        names=["A", "B", "C"],
        config=BootstrapConfig(resamples=20, seed=0),
        unmeasurable=["A", "B"],
    )
    assert not sens.has_histogram and sens.unmeasurable == ("A", "B")
    assert [round(e.value, 6) for e in sens.s] == [0.15, 0.2]
    assert sens.sdar_s.value == sens.sdar_h.value == 0.0
    assert "undefined" in sens.sdar_s.definition and "placeholder" in sens.sdar_h.definition
    assert sens.as_dict()["h"] == {}
    diff = sensitivity_difference(
        delta, delta * 2, [True, True, False], names=["A", "B", "C"], unmeasurable=["A", "B"]
    )
    assert not diff.has_histogram and diff.sdar_s.value == 0.0  # the regression gate's input
