"""The bootstrap at its edges: one probe, pairing by id, refusals in words, the dtype it computes
in, and the sentence each interval ends with."""

from __future__ import annotations

import re

import pytest
import torch

from sia_audit.metrics import BootstrapConfig, EmptyMetricError
from sia_audit.metrics.bootstrap import (
    align_by_id,
    bootstrap,
    describe_interval,
    mean_estimate,
    paired_bootstrap,
    paired_mean_difference,
    resample_indices,
    resampled_means,
    simultaneous_margin,
)

CFG = BootstrapConfig(resamples=64, seed=5, level=0.5)


def raises(kind: type[Exception], message: str):  # noqa: ANN201
    return pytest.raises(kind, match="^" + re.escape(message) + "$")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"resamples": 0}, "resamples must be >= 1, got 0"),
     ({"level": 0.0}, "level must be in (0, 1), got 0.0"),
     ({"level": 1.0}, "level must be in (0, 1), got 1.0")],
)  # fmt: skip
def test_a_config_outside_its_range_is_refused(kwargs: dict, message: str) -> None:
    with raises(ValueError, message):
        BootstrapConfig(**kwargs)
    assert BootstrapConfig(resamples=1, level=0.01).resamples == 1  # the smallest allowed


def test_one_probe_has_no_interval_and_says_so() -> None:
    assert resample_indices(1, CFG).tolist() == [[0]] * 64
    rep = bootstrap(torch.tensor([0.25]), None, CFG)
    assert (rep.value.item(), rep.low.item(), rep.high.item(), rep.n, rep.dropped, rep.reps) == (
        0.25, 0.25, 0.25, 1, 0, None
    )  # fmt: skip
    pair = paired_bootstrap(torch.tensor([0.25]), torch.tensor([1.0]), None, CFG)
    assert (pair.value.item(), pair.low.item(), pair.high.item(), pair.n) == (0.75, 0.75, 0.75, 1)
    assert mean_estimate(torch.tensor([0.5]), "M", CFG).definition == (
        "M; one probe, so no interval (low = high = value)."
    )


def test_two_probes_have_an_interval() -> None:
    rep = bootstrap(torch.tensor([0.0, 1.0]), None, BootstrapConfig(resamples=64, level=0.9))
    assert rep.n == 2 and rep.reps is not None and rep.low.item() < rep.high.item()
    assert paired_bootstrap(torch.zeros(2), torch.tensor([0.0, 1.0]), None, CFG).reps is not None


def test_no_probes_are_refused_in_words() -> None:
    with raises(EmptyMetricError, "cannot resample zero probes"):
        resample_indices(0, CFG)
    with raises(EmptyMetricError, "no probes: nothing to average"):
        resampled_means(torch.zeros(0), CFG)
    with raises(EmptyMetricError, "no probes: a figure needs at least one probe"):
        bootstrap(torch.zeros(0), None, CFG)
    with raises(EmptyMetricError, "no probes: a figure needs at least one probe"):
        paired_bootstrap(torch.zeros(0), torch.zeros(0), None, CFG)
    with raises(EmptyMetricError, "the statistic is undefined on the full sample"):
        bootstrap(torch.ones(3), lambda m: m * float("nan"), CFG)
    with raises(ValueError, "per-probe values hold NaN or inf: a figure over them would be "
                "undefined"):  # fmt: skip
        bootstrap(torch.tensor([1.0, float("inf")]), None, CFG)


def test_figures_are_computed_in_float64_whatever_the_input() -> None:
    """Booleans and float32 go in; the means come out in float64, as exact as the probes."""
    right = torch.tensor([True, False, True, True])
    assert resampled_means(right, CFG).dtype == torch.float64
    third = torch.full((3,), 1 / 3, dtype=torch.float32)
    rep = bootstrap(third, None, CFG)
    assert rep.value.dtype == torch.float64 and rep.value.item() == float(third[0])
    pair = paired_bootstrap(right, ~right, None, CFG)
    assert pair.value.dtype == torch.float64 and pair.value.item() == -0.5
    pair = paired_bootstrap(third, third * 2, None, CFG)
    assert pair.value.dtype == torch.float64 and pair.value.item() == float(third[0])


def test_pairing_by_id_puts_head_in_the_baselines_order() -> None:
    base = torch.tensor([0.0, 0.25, 0.5, 0.75])
    head = torch.tensor([1.25, 0.5, 1.0, 0.75])  # p3, p0, p2, p1: each baseline probe + 0.5
    assert align_by_id(["p0", "p1", "p2", "p3"], ["p3", "p0", "p2", "p1"]).tolist() == [1, 3, 2, 0]
    assert align_by_id(["a"], ["a"]).dtype == torch.long
    rep = paired_bootstrap(base, head, None, CFG, base_ids=["p0", "p1", "p2", "p3"],
                           head_ids=["p3", "p0", "p2", "p1"])  # fmt: skip
    assert (rep.low.item(), rep.value.item(), rep.high.item()) == (0.5, 0.5, 0.5)
    unpaired = paired_bootstrap(base, head, None, CFG)  # row by row: not the same probes
    assert unpaired.low.item() < 0.5 < unpaired.high.item()


@pytest.mark.parametrize(
    ("base", "head", "message"),
    [(["a", "a"], ["a", "b"], "probe ids must be unique within each run to pair them"),
     (["a", "b"], ["b", "b"], "probe ids must be unique within each run to pair them"),
     (["a", "b"], ["a", "c"], "baseline and head were run on different probes (1 baseline probes "
      "missing from head, 1 head probes not in baseline): rerun both on one probe set"),
     (["a", "b"], ["a", "b", "c"], "baseline and head were run on different probes (0 baseline "
      "probes missing from head, 1 head probes not in baseline): rerun both on one probe set"),
     (["a", "b", "c"], ["a", "b"], "baseline and head were run on different probes (1 baseline "
      "probes missing from head, 0 head probes not in baseline): rerun both on one probe set")],
)  # fmt: skip
def test_probes_that_cannot_be_paired_are_refused(base: list, head: list, message: str) -> None:
    with raises(ValueError, message):
        align_by_id(base, head)


def test_paired_inputs_that_do_not_match_are_refused() -> None:
    two, three = torch.zeros(2), torch.zeros(3)
    with raises(ValueError, "pass both base_ids and head_ids, or neither"):
        paired_bootstrap(two, two, None, CFG, base_ids=["a", "b"])
    with raises(ValueError, "pass both base_ids and head_ids, or neither"):
        paired_bootstrap(two, two, None, CFG, head_ids=["a", "b"])
    with raises(ValueError, "probe ids must have one entry per row of their values"):
        paired_bootstrap(two, three, None, CFG, base_ids=["a", "b"], head_ids=["a", "b"])
    with raises(ValueError, "probe ids must have one entry per row of their values"):
        paired_bootstrap(three, two, None, CFG, base_ids=["a", "b"], head_ids=["a", "b"])
    with raises(ValueError, "paired values must have one shape, got (2,) and (3,)"):
        paired_bootstrap(two, three, None, CFG)
    with raises(ValueError, "expected per-probe values (N,), got (2, 1)"):
        mean_estimate(torch.zeros(2, 1), "m", CFG)
    for b, h in ((torch.zeros(2, 1), two), (two, torch.zeros(2, 1))):
        with raises(ValueError, "expected per-probe values (N,) for base and head"):
            paired_mean_difference(b, h, "m", CFG)


def test_the_definition_says_how_the_interval_was_drawn() -> None:
    assert describe_interval(1, CFG) == "one probe, so no interval (low = high = value)"
    assert (
        describe_interval(8, CFG)
        == "50% percentile bootstrap over the 8 probes (64 resamples, seed 5)"
    )
    assert describe_interval(8, CFG, 3) == (
        "50% percentile bootstrap over the 8 probes (64 resamples, seed 5), leaving out the 3 "
        "resamples where the figure was undefined"
    )
    e = paired_mean_difference(torch.zeros(4), torch.ones(4), "x", CFG)
    assert e.definition == (
        "Change head - baseline of x, paired by probe; 50% percentile bootstrap over the 4 probes "
        "(64 resamples, seed 5)."
    )
    assert (e.value, e.low, e.high, e.n, e.level) == (1.0, 1.0, 1.0, 4, 0.5)


def test_resamples_where_the_figure_is_undefined_are_counted_and_left_out() -> None:
    x = torch.tensor([0.0, 0.0, 0.0, 1.0])

    def ratio(m: torch.Tensor) -> torch.Tensor:  # undefined where no probe of value 1 was drawn
        return torch.where(m > 0, m, torch.full_like(m, float("nan")))

    rep = bootstrap(x, ratio, CFG)
    drawn = resample_indices(4, CFG)
    assert rep.dropped == int((drawn != 3).all(dim=1).sum()) > 0
    assert f"leaving out the {rep.dropped} resamples" in rep.estimate("r").definition
    assert rep.estimate("r", n=99).n == 99 and rep.estimate("r").n == 4
    two = bootstrap(torch.stack([x, x], dim=1), ratio, CFG)
    assert two.dropped == rep.dropped  # a resample counts once, not once per figure


def test_the_simultaneous_margin_needs_two_resamples_and_a_figure() -> None:
    point = torch.zeros(2)
    with raises(ValueError, "expected point (C,) and reps (R, C), got torch.Size([2]), "
                "torch.Size([4])"):  # fmt: skip
        simultaneous_margin(point, torch.zeros(4), 0.95)
    with pytest.raises(ValueError, match="^expected point"):
        simultaneous_margin(point, torch.zeros(4, 3), 0.95)
    one = torch.tensor([[1.0, 2.0]])
    assert [x.tolist() if hasattr(x, "tolist") else x for x in
            simultaneous_margin(point, one, 0.95)] == [[0.0, 0.0], 0.0]  # fmt: skip
    two = torch.tensor([[1.0, 2.0], [3.0, 0.0]])
    margin, c = simultaneous_margin(point, two, 0.5)
    assert c > 0 and bool((margin > 0).all())
    empty, c = simultaneous_margin(torch.zeros(0), torch.zeros(5, 0), 0.95)
    assert empty.numel() == 0 and c == 0.0
    nan = torch.tensor([[float("nan"), 1.0], [1.0, 2.0], [3.0, 0.0]])
    assert simultaneous_margin(point, nan, 0.5)[1] == c_of(two)


def c_of(reps: torch.Tensor) -> float:
    return simultaneous_margin(torch.zeros(reps.shape[1]), reps, 0.5)[1]


def test_the_default_bootstrap() -> None:
    assert BootstrapConfig() == BootstrapConfig(resamples=1000, seed=0, level=0.95)
