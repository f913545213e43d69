"""Sensitivity at its edges: refusals in words, the definitions each figure carries, groups and
single-attribute runs, and h of an attribute the generator cannot draw."""

from __future__ import annotations

import re

import pytest
import torch

from sia_audit.metrics import BootstrapConfig, EmptyMetricError
from sia_audit.metrics.sensitivity import (
    histogram_values,
    sdar_value,
    sensitivity,
    sensitivity_difference,
    single_attribute_sensitivity,
    subpopulation_sensitivity,
)

CFG = BootstrapConfig(resamples=32, seed=1)
NAMES = ["A", "B", "C"]
DELTA = torch.tensor([[0.25, -0.5, 0.0], [0.75, 0.5, 0.25]], dtype=torch.float64)


def raises(kind: type[Exception], message: str):  # noqa: ANN201
    return pytest.raises(kind, match="^" + re.escape(message) + "$")


def test_h_and_sdar_along_the_last_dimension_of_any_shape() -> None:
    assert histogram_values(torch.tensor([1.0, 3.0])).tolist() == [0.25, 0.75]
    assert histogram_values(torch.zeros(2)).tolist() == [0.0, 0.0]
    assert sdar_value(torch.tensor([1.0, 3.0])).item() == 1.0  # 1/L, not 1/(L-1)


def test_bad_inputs_are_refused_in_words() -> None:
    with raises(ValueError, "delta must be (N, K), got (3,)"):
        sensitivity(torch.zeros(3), config=CFG)
    with raises(ValueError, "delta holds non-finite values"):
        sensitivity(torch.tensor([[float("nan")]]), config=CFG)
    with raises(ValueError, "2 attribute names for 3 attributes"):
        sensitivity(DELTA, names=["A", "B"], config=CFG)
    with raises(ValueError, "included must be (3,), got (2,)"):
        sensitivity(DELTA, [True, True], config=CFG)
    with raises(ValueError, "every attribute is excluded: the histogram would be empty"):
        sensitivity(DELTA, [False] * 3, config=CFG)
    with raises(ValueError, "unmeasurable attributes ['Z'] are not among ['A', 'B', 'C']"):
        sensitivity(DELTA, names=NAMES, unmeasurable=["Z"], config=CFG)
    with raises(EmptyMetricError, "no probes: sensitivity needs at least one probe"):
        sensitivity(torch.zeros(0, 3), config=CFG)
    with raises(ValueError, "group must be (2,), got (3,)"):
        subpopulation_sensitivity(DELTA, torch.ones(3, dtype=torch.bool), config=CFG)
    with raises(ValueError, "expected 3 run matrices of one shape (N, 3), got {(2, 2)}"):
        single_attribute_sensitivity([torch.zeros(2, 2)] * 3, config=CFG)
    with raises(ValueError, "run 1 (B) is missing but the attribute is included"):
        single_attribute_sensitivity([DELTA, None, DELTA], names=NAMES, config=CFG)


def test_included_may_be_any_sequence_of_truth_values() -> None:
    sens = sensitivity(DELTA, [1, 0, 1], names=NAMES, config=CFG)
    assert (sens.attributes, sens.excluded) == (("A", "C"), ("B",))
    assert [e.value for e in sens.s] == [0.5, 0.125]
    assert sens.as_dict()["s"] == {"A": sens.s[0].as_dict(), "C": sens.s[1].as_dict()}


def test_each_figure_defines_itself() -> None:
    sens = sensitivity(DELTA, names=NAMES, config=CFG, unmeasurable=["B"])
    tail = "; 95% percentile bootstrap over the 2 probes (32 resamples, seed 1)."
    assert sens.s[1].definition == (
        "Sensitivity of B: mean over the probes of |a_T,k - a_0,k| (a_0 is the labelled vector; "
        "the paper's a_1 differs from it by at most eta_a)" + tail
    )
    assert sens.h[2].definition == (
        "Normalised sensitivity of C: s_k divided by the sum of s over the L = 2 measurable "
        "histogram attributes (frozen attributes and the 1 the generator cannot draw excluded); "
        "h = 0 when every s is 0" + tail
    )
    assert sens.sdar_h.definition == (
        "SDAR of h: population standard deviation (1/L) of the normalised histogram h over the "
        "L = 2 measurable histogram attributes (frozen attributes and the 1 the generator cannot "
        "draw excluded)" + tail
    )
    plain = sensitivity(DELTA, names=NAMES, config=CFG)
    assert plain.sdar_s.definition == (
        "SDAR of s: population standard deviation (1/L) of s over the L = 3 histogram attributes "
        "(frozen attributes excluded)" + tail
    )
    none = sensitivity(DELTA, names=NAMES, config=CFG, unmeasurable=NAMES)
    assert none.sdar_s.definition == (
        "SDAR of s: undefined: the generator cannot draw any of the 3 histogram attributes, so "
        "there is no histogram (0 is a placeholder, not a finding)" + tail
    )
    assert none.h[0].definition.startswith("Normalised sensitivity of A: undefined: the generator")
    assert none.s[0].definition == sens.s[0].definition


def test_h_of_an_attribute_the_generator_cannot_draw_is_none() -> None:
    sens = sensitivity(DELTA, names=NAMES, config=CFG, unmeasurable=["B"])
    assert sens.h_of("B") is None and sens.h_of("C") is sens.h[2] and sens.h_of("A") is sens.h[0]
    assert sens.as_dict()["h"] == {"A": sens.h[0].as_dict(), "C": sens.h[2].as_dict()}
    assert sens.as_dict()["unmeasurable"] == ["B"] and sens.has_histogram


def test_a_difference_defines_itself_as_one() -> None:
    diff = sensitivity_difference(DELTA, DELTA * 2, names=NAMES, config=CFG, unmeasurable=["B"])
    assert [e.value for e in diff.s] == [0.5, 0.5, 0.125]
    assert diff.sdar_s.definition.startswith(
        "Change head - baseline, paired by probe, of: SDAR of s: population standard deviation "
        "(1/L) of s over the L = 2 measurable histogram attributes (frozen attributes and the 1 "
        "the generator cannot draw excluded)"
    )


def test_groups_are_named_and_resampled_within_themselves() -> None:
    sub = subpopulation_sensitivity(DELTA, [1, 0], names=NAMES, config=CFG)
    assert (sub.attribute, sub.in_group.label, sub.out_group.label) == ("group", "group = 1",
                                                                        "group = 0")  # fmt: skip
    inside = sub.in_group.sensitivity
    assert inside.attributes == tuple(NAMES) and [e.value for e in inside.s] == [0.25, 0.5, 0.0]
    assert inside.s[0].definition.startswith(
        "Sensitivity of A: mean over the probes with group = 1"
    )
    assert sub.as_dict()["in_group"] == {
        "label": "group = 1",
        "n": 1,
        "sensitivity": inside.as_dict(),
        "reason": None,
    }
    empty = subpopulation_sensitivity(DELTA, [1, 1], names=NAMES, config=CFG).out_group
    assert (empty.label, empty.n, empty.sensitivity, empty.reason) == (
        "group = 0", 0, None, "no probe falls in this group"
    )  # fmt: skip


def test_single_attribute_runs_take_their_own_column_in_float64() -> None:
    runs = [DELTA.float(), None, DELTA.float()]
    sens = single_attribute_sensitivity(runs, [True, False, True], names=NAMES, config=CFG)
    assert sens.attributes == ("A", "C") and sens.excluded == ("B",)
    assert [e.value for e in sens.s] == [0.5, 0.125]
    assert sens.s[0].definition.startswith(
        "Sensitivity of A: mean over the probes of |a_T,k - a_0,k|, taken from the run that "
        "updates only this attribute (single-attribute mode) (a_0"
    )


def test_groups_and_single_runs_keep_the_names_bootstrap_and_unmeasurable_they_were_given() -> None:
    sub = subpopulation_sensitivity(DELTA, [1, 0], [True, True, True], names=NAMES,
                                    config=CFG, unmeasurable=["B"], attribute="Male")  # fmt: skip
    for group, label in ((sub.in_group, "Male = 1"), (sub.out_group, "Male = 0")):
        sens = group.sensitivity
        assert (sens.attributes, sens.unmeasurable, group.label) == (tuple(NAMES), ("B",), label)
        assert sens.s[0].definition == (
            f"Sensitivity of A: mean over the probes with {label} of |a_T,k - a_0,k| (a_0 is the "
            "labelled vector; the paper's a_1 differs from it by at most eta_a); one probe, so no "
            "interval (low = high = value)."
        )
    two = torch.cat([DELTA, DELTA])
    sub = subpopulation_sensitivity(two, [1, 1, 0, 0], names=NAMES, config=CFG)
    assert sub.out_group.sensitivity.s[0].definition.endswith("(32 resamples, seed 1).")
    single = single_attribute_sensitivity([DELTA] * 3, names=NAMES, config=CFG, unmeasurable=["C"])
    assert single.unmeasurable == ("C",) and single.h_of("C") is None
    assert single.s[0].definition.endswith("(32 resamples, seed 1).")


def test_a_differences_s_is_defined_as_a_change_of_s() -> None:
    diff = sensitivity_difference(DELTA, DELTA * 2, names=NAMES, config=CFG,
                                  base_ids=["p", "q"], head_ids=["p", "q"])  # fmt: skip
    assert diff.s[0].definition == (
        "Change head - baseline, paired by probe, of: Sensitivity of A: mean over the probes of "
        "|a_T,k - a_0,k| (a_0 is the labelled vector; the paper's a_1 differs from it by at most "
        "eta_a); 95% percentile bootstrap over the 2 probes (32 resamples, seed 1)."
    )
    swapped = sensitivity_difference(DELTA, (DELTA * 2).flip(0), names=NAMES, config=CFG,
                                     base_ids=["p", "q"], head_ids=["q", "p"])  # fmt: skip
    assert [e.as_dict() for e in swapped.s] == [e.as_dict() for e in diff.s]
