"""Every threshold gate fails on a figure built to fail it and passes at its boundary.

The figures are made by hand (no audit), so each case says exactly which side of the line it
lies on; the verdicts are compared whole (status, figures, threshold and message), so a gate
that compares the wrong end of an interval, flips a comparison or loses its reason fails here.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from sia_audit.errors import ConfigError
from sia_audit.gates.thresholds import (
    check_max,
    check_min,
    evaluate,
    onnx_verdicts,
    passed,
    skipped,
    unmeasurable,
)
from sia_audit.metrics import Estimate
from sia_audit.onnx.results import OnnxParity, OnnxResult
from sia_audit.policy.gates import GatesSection
from sia_audit.results import GateVerdict
from tests.fakes import FakeResult


def est(value: float, low: float | None = None, high: float | None = None) -> Estimate:
    low = value if low is None else low
    high = value if high is None else high
    return Estimate(value, low, high, 64, 0.95, "")


def row(v: GateVerdict) -> tuple:
    return (v.gate, v.status, v.value, v.low, v.high, v.threshold, v.bound, v.use_confidence,
            v.message)  # fmt: skip


@pytest.mark.parametrize(
    ("e", "confident", "status", "words"),
    [
        (est(0.5, 0.25, 0.75), False, "pass", "within the max 0.5"),  # the value on the line
        (
            est(0.625, 0.5, 0.75),
            True,
            "pass",
            "above the max 0.5, but not surely: its interval reaches it",
        ),  # the low end on it
        (est(0.625, 0.25, 0.75), False, "fail", "it is above the max 0.5"),
        (est(0.875, 0.625, 1.0), True, "fail", "its whole interval is above the max 0.5"),
        (
            est(0.75, 0.25, 1.0),
            True,
            "pass",
            "above the max 0.5, but not surely: its interval reaches it",
        ),  # straddles: passes
        (est(0.25, 0.125, 0.75), True, "pass", "within the max 0.5"),
    ],
)
def test_a_max_fails_above_and_passes_on_the_line(
    e: Estimate, confident: bool, status: str, words: str
) -> None:
    v = check_max("sdar(s)", e, 0.5, confident)
    assert row(v) == ("sdar(s)", status, e.value, e.low, e.high, 0.5, "max", confident,
                      f"sdar(s) = {e.value:.4g} [{e.low:.4g}, {e.high:.4g}]: {words}")  # fmt: skip


@pytest.mark.parametrize(
    ("e", "confident", "status", "words"),
    [
        (est(0.5, 0.25, 0.75), False, "pass", "within the min 0.5"),  # the value on the line
        (
            est(0.375, 0.25, 0.5),
            True,
            "pass",
            "below the min 0.5, but not surely: its interval reaches it",
        ),  # the high end on it
        (est(0.375, 0.25, 0.75), False, "fail", "it is below the min 0.5"),
        (est(0.25, 0.125, 0.375), True, "fail", "its whole interval is below the min 0.5"),
        (
            est(0.25, 0.125, 0.75),
            True,
            "pass",
            "below the min 0.5, but not surely: its interval reaches it",
        ),  # straddles: passes
        (est(0.75, 0.25, 1.0), True, "pass", "within the min 0.5"),
    ],
)
def test_a_min_fails_below_and_passes_on_the_line(
    e: Estimate, confident: bool, status: str, words: str
) -> None:
    v = check_min("clean_accuracy", e, 0.5, confident)
    assert row(v) == (
        "clean_accuracy",
        status,
        e.value,
        e.low,
        e.high,
        0.5,
        "min",
        confident,
        f"clean_accuracy = {e.value:.4g} [{e.low:.4g}, {e.high:.4g}]: {words}",
    )


def result() -> FakeResult:
    """An audit's figures over Mustache, Male, Young (Eyeglasses frozen, Blond_Hair the label's
    partner): on each per-attribute figure Mustache lies above 0.5, Male exactly on it."""

    def three(first: float) -> tuple[Estimate, ...]:
        return est(first, first - 0.125, first + 0.125), est(0.5, 0.375, 0.625), est(0.125)

    sens = SimpleNamespace(
        attributes=("Mustache", "Male", "Young", "Blond_Hair"),
        excluded=("Eyeglasses",),
        s=(*three(0.75), est(0.0)),
        h=(*three(0.625), est(0.0)),
        sdar_s=est(0.25, 0.125, 0.375),
        sdar_h=est(0.625, 0.5625, 0.6875),
        unmeasurable=(),
    )
    full = SimpleNamespace(
        attack_success_rate=est(0.75, 0.625, 0.875),
        robust_accuracy=est(0.25, 0.125, 0.375),
        psnr_x0=est(28.0, 27.0, 29.0),
    )
    pgd = SimpleNamespace(
        attack_success_rate=Estimate(0.0, 0.0, 0.0, 0, 0.95, ""), robust_accuracy=est(0.5)
    )
    return FakeResult(
        sensitivity=sens,
        editability=None,
        weighted=SimpleNamespace(w=(*three(1.0), est(0.0)), attributes=sens.attributes),
        flips=SimpleNamespace(rate=three(0.875), attributes=("Mustache", "Male", "Young")),
        effects=SimpleNamespace(effect=(*three(2.0), est(0.0)), attributes=sens.attributes),
        path_attribution=SimpleNamespace(
            share=(*three(0.75), est(0.0)), attributes=sens.attributes
        ),
        clean_accuracy=est(0.875, 0.75, 1.0),
        reconstruction_accuracy=est(0.375, 0.25, 0.5),
        attacks={"full": full, "pgd": pgd},
        main_attack="full",
        main=full,
    )


EVERY_GATE = {
    "sdar": {"max": 0.125, "on": "h", "use_confidence": True},
    "weighted_sensitivity": {"max": 0.5, "attributes": "all"},
    "flip_rate": {"max": 0.5, "attributes": ["Mustache", "Male", "Blond_Hair"]},
    "sensitivity": {"max": 0.5, "attributes": "protected"},
    "attribute_effect": {"max": 0.5, "attributes": ["Male", "Mustache"], "use_confidence": True},
    "path_share": {"max": 0.5, "attributes": ["Mustache", "Male", "Eyeglasses"]},
    "clean_accuracy": {"min": 0.875},
    "reconstruction_accuracy": {"min": 0.5, "use_confidence": True},
    "attack_success_rate": {"max": {"full": 0.5, "pgd": 0.5, "fgsm": 0.5}},
    "robust_accuracy": {"min": {"full": 0.5, "pgd": 0.5, "fgsm": 0.5}},
    "psnr": {"min": 30},
}

EXPECTED = [
    ("sdar(h)", "fail", 0.625, 0.5625, 0.6875, 0.125, "max", True,
     "sdar(h) = 0.625 [0.5625, 0.6875]: its whole interval is above the max 0.125"),
    ("weighted_sensitivity[Mustache]", "fail", 1.0, 0.875, 1.125, 0.5, "max", False,
     "weighted_sensitivity[Mustache] = 1 [0.875, 1.125]: it is above the max 0.5"),
    ("weighted_sensitivity[Male]", "pass", 0.5, 0.375, 0.625, 0.5, "max", False,
     "weighted_sensitivity[Male] = 0.5 [0.375, 0.625]: within the max 0.5"),
    ("weighted_sensitivity[Young]", "pass", 0.125, 0.125, 0.125, 0.5, "max", False,
     "weighted_sensitivity[Young] = 0.125 [0.125, 0.125]: within the max 0.5"),
    ("weighted_sensitivity[Blond_Hair]", "pass", 0.0, 0.0, 0.0, 0.5, "max", False,
     "weighted_sensitivity[Blond_Hair] = 0 [0, 0]: within the max 0.5"),
    ("flip_rate[Mustache]", "fail", 0.875, 0.75, 1.0, 0.5, "max", False,
     "flip_rate[Mustache] = 0.875 [0.75, 1]: it is above the max 0.5"),
    ("flip_rate[Male]", "pass", 0.5, 0.375, 0.625, 0.5, "max", False,
     "flip_rate[Male] = 0.5 [0.375, 0.625]: within the max 0.5"),
    ("flip_rate[Blond_Hair]", "skipped", None, None, None, None, None, False,
     "flip_rate[Blond_Hair]: its flip changes the label too, so it is not a shortcut"),
    ("sensitivity s[Mustache]", "fail", 0.75, 0.625, 0.875, 0.5, "max", False,
     "sensitivity s[Mustache] = 0.75 [0.625, 0.875]: it is above the max 0.5"),
    ("sensitivity s[Eyeglasses]", "skipped", None, None, None, None, None, False,
     "sensitivity s[Eyeglasses]: frozen in this audit (radius 0), so it never moves"),
    ("attribute_effect[Male]", "pass", 0.5, 0.375, 0.625, 0.5, "max", True,
     "attribute_effect[Male] = 0.5 [0.375, 0.625]: within the max 0.5"),
    ("attribute_effect[Mustache]", "fail", 2.0, 1.875, 2.125, 0.5, "max", True,
     "attribute_effect[Mustache] = 2 [1.875, 2.125]: its whole interval is above the max 0.5"),
    ("path_share[Mustache]", "fail", 0.75, 0.625, 0.875, 0.5, "max", False,
     "path_share[Mustache] = 0.75 [0.625, 0.875]: it is above the max 0.5"),
    ("path_share[Male]", "pass", 0.5, 0.375, 0.625, 0.5, "max", False,
     "path_share[Male] = 0.5 [0.375, 0.625]: within the max 0.5"),
    ("path_share[Eyeglasses]", "skipped", None, None, None, None, None, False,
     "path_share[Eyeglasses]: frozen in this audit (radius 0), so it never moves"),
    ("clean_accuracy", "pass", 0.875, 0.75, 1.0, 0.875, "min", False,
     "clean_accuracy = 0.875 [0.75, 1]: within the min 0.875"),
    ("reconstruction_accuracy", "pass", 0.375, 0.25, 0.5, 0.5, "min", True,
     "reconstruction_accuracy = 0.375 [0.25, 0.5]: below the min 0.5, but not surely: its "
     "interval reaches it"),
    ("attack_success_rate[full]", "fail", 0.75, 0.625, 0.875, 0.5, "max", False,
     "attack_success_rate[full] = 0.75 [0.625, 0.875]: it is above the max 0.5"),
    ("attack_success_rate[pgd]", "skipped", None, None, None, None, None, False,
     "attack_success_rate[pgd]: no probe was right on x0, so there was nothing to attack"),
    ("attack_success_rate[fgsm]", "skipped", None, None, None, None, None, False,
     "attack_success_rate[fgsm]: this attack was not run"),
    ("robust_accuracy[full]", "fail", 0.25, 0.125, 0.375, 0.5, "min", False,
     "robust_accuracy[full] = 0.25 [0.125, 0.375]: it is below the min 0.5"),
    ("robust_accuracy[pgd]", "pass", 0.5, 0.5, 0.5, 0.5, "min", False,
     "robust_accuracy[pgd] = 0.5 [0.5, 0.5]: within the min 0.5"),
    ("robust_accuracy[fgsm]", "skipped", None, None, None, None, None, False,
     "robust_accuracy[fgsm]: this attack was not run"),
    ("psnr[full]", "fail", 28.0, 27.0, 29.0, 30.0, "min", False,
     "psnr[full] = 28 [27, 29]: it is below the min 30"),
]  # fmt: skip


def test_every_gate_fails_on_its_case_and_passes_on_the_line() -> None:
    gates = GatesSection.model_validate(EVERY_GATE)
    got = [row(v) for v in evaluate(gates, result(), ("Mustache", "Eyeglasses"))]
    assert got == EXPECTED
    assert not passed(evaluate(gates, result(), ("Mustache", "Eyeglasses")))


def test_a_gate_without_use_confidence_judges_the_value() -> None:
    """use_confidence is off unless the policy turns it on: an interval that straddles the line
    passes with it and fails without it."""
    gates = GatesSection.model_validate(
        {name: {k: v for k, v in g.items() if k != "use_confidence"} for name, g in
         EVERY_GATE.items()}
    )  # fmt: skip
    got = {v.gate: v for v in evaluate(gates, result(), ("Mustache",))}
    assert all(not v.use_confidence for v in got.values())
    assert got["reconstruction_accuracy"].status == "fail"  # 0.375 [0.25, 0.5] < 0.5
    assert got["sdar(h)"].status == "fail"
    straddling = {"sdar": {"max": 0.625}, "clean_accuracy": {"min": 0.9}}
    got = {v.gate: v.status for v in evaluate(GatesSection.model_validate(straddling), result())}
    assert got == {"sdar(s)": "pass", "clean_accuracy": "fail"}  # 0.875 [0.75, 1] < 0.9


def test_sdar_on_s_reads_sdar_of_s() -> None:
    gates = GatesSection.model_validate({"sdar": {"max": 0.125}})
    [v] = evaluate(gates, result())
    assert row(v) == ("sdar(s)", "fail", 0.25, 0.125, 0.375, 0.125, "max", False,
                      "sdar(s) = 0.25 [0.125, 0.375]: it is above the max 0.125")  # fmt: skip


def test_normalised_sensitivity_reads_h_and_the_protected_list() -> None:
    gates = GatesSection.model_validate(
        {"sensitivity": {"max": 0.5, "normalised": True, "attributes": "protected"}}
    )
    got = [row(v) for v in evaluate(gates, result(), ("Mustache", "Male"))]
    assert got == [
        ("sensitivity h[Mustache]", "fail", 0.625, 0.5, 0.75, 0.5, "max", False,
         "sensitivity h[Mustache] = 0.625 [0.5, 0.75]: it is above the max 0.5"),
        ("sensitivity h[Male]", "pass", 0.5, 0.375, 0.625, 0.5, "max", False,
         "sensitivity h[Male] = 0.5 [0.375, 0.625]: within the max 0.5"),
    ]  # fmt: skip


def test_missing_figures_skip_their_gates_with_the_reason() -> None:
    r = result()
    r.weighted = r.flips = r.effects = r.path_attribution = None
    names = ("weighted_sensitivity", "flip_rate", "attribute_effect", "path_share")
    gates = GatesSection.model_validate({n: EVERY_GATE[n] for n in names})
    assert [(v.gate, v.status, v.message) for v in evaluate(gates, r)] == [
        ("weighted_sensitivity", "skipped",
         "weighted_sensitivity: no weighted sensitivity: no effects, or no loss increase"),
        ("flip_rate", "skipped",
         "flip_rate: counterfactual flips were not measured in this audit"),
        ("attribute_effect", "skipped", "attribute_effect: the attribute effect was not computed"),
        ("path_share", "skipped", "path_share: no path attribution: the attack raised no loss"),
    ]  # fmt: skip


def unmeasurable_male() -> FakeResult:
    r = result()
    r.sensitivity.unmeasurable = ("Male",)
    rates = {"Male": est(0.25), "Mustache": est(0.875), "Young": est(1.0)}
    r.editability = SimpleNamespace(
        min_expression=0.75, of=lambda name: SimpleNamespace(expression=rates[name])
    )
    return r


@pytest.mark.parametrize("normalised", [False, True])
def test_a_gate_on_what_the_generator_cannot_draw_never_passes(normalised: bool) -> None:
    gates = GatesSection.model_validate(
        {"sensitivity": {"max": 0.5, "normalised": normalised, "attributes": ["Male", "Young"],
                         "use_confidence": True},
         "flip_rate": {"max": 0.5, "attributes": ["Male"]}}
    )  # fmt: skip
    got = {v.gate: v for v in evaluate(gates, unmeasurable_male())}
    symbol = "h" if normalised else "s"
    male = got[f"sensitivity {symbol}[Male]"]
    tail = (
        ": unmeasurable with this generator (expression rate 0.25 < 0.75); this fails the run "
        "(editability.on_unmeasurable: skip would skip it)"
    )
    assert (male.status, male.message) == ("unmeasurable", f"sensitivity {symbol}[Male]{tail}")
    # s keeps its figure (0.5, on the line); h has none for an attribute it leaves out.
    assert male.value == (None if normalised else 0.5)
    assert male.use_confidence == (not normalised)  # s keeps its gate's setting
    assert got[f"sensitivity {symbol}[Young]"].status == "pass"
    assert got["flip_rate[Male]"].status == "unmeasurable"
    assert not passed(got.values())
    skipping = {v.gate: v for v in evaluate(gates, unmeasurable_male(), on_unmeasurable="skip")}
    assert skipping[f"sensitivity {symbol}[Male]"].message == (
        f"sensitivity {symbol}[Male]: unmeasurable with this generator (expression rate 0.25 < "
        "0.75); skipped by policy"
    )
    assert passed(skipping.values())


def test_sdar_without_a_drawable_attribute_says_which_expression_rate() -> None:
    r = unmeasurable_male()
    r.sensitivity.unmeasurable = r.sensitivity.attributes
    [v] = evaluate(GatesSection.model_validate({"sdar": {"max": 1.0}}), r)
    assert v.status == "unmeasurable" and v.message.startswith(
        "sdar(s): unmeasurable with this generator (no histogram attribute has an expression "
        "rate >= 0.75)"
    )
    r.editability = None  # no classifier: the message names no rate
    [v] = evaluate(GatesSection.model_validate({"sdar": {"max": 1.0}}), r)
    assert "(no histogram attribute has an expression rate >= the minimum)" in v.message


def test_skipped_and_unmeasurable_verdicts_carry_no_figure() -> None:
    assert row(skipped("psnr[full]", "why")) == (
        "psnr[full]", "skipped", None, None, None, None, None, False, "psnr[full]: why"
    )  # fmt: skip
    failed = check_max("g", est(0.75), 0.5, True)
    u = unmeasurable(failed, "because")
    assert row(u)[:8] == row(failed)[:1] + ("unmeasurable",) + row(failed)[2:8]
    assert unmeasurable(failed, "because", "skip").status == "skipped"
    assert passed([skipped("a", "b")]) and not passed([u]) and not passed([failed])


def onnx(accuracy: float, diff: float | None, agreement: float = 1.0) -> OnnxResult:
    parity = None if diff is None else OnnxParity(diff, est(agreement, agreement - 0.25, 1.0), "t")
    return OnnxResult("m.onnx", "0" * 64, "CPUExecutionProvider", "1", est(accuracy, 0.5, 1.0),
                      parity)  # fmt: skip


ONNX = GatesSection.model_validate(
    {"onnx_clean_accuracy": {"min": 0.75, "use_confidence": True},
     "onnx_parity": {"max_abs_diff": 0.25, "min_agreement": 0.75}}
)  # fmt: skip


def test_the_onnx_gates_fail_past_their_lines_and_pass_on_them() -> None:
    on_the_line = [row(v) for v in onnx_verdicts(ONNX, onnx(0.75, 0.25, 0.75))]
    assert on_the_line == [
        ("onnx_clean_accuracy", "pass", 0.75, 0.5, 1.0, 0.75, "min", True,
         "onnx_clean_accuracy = 0.75 [0.5, 1]: within the min 0.75"),
        ("onnx_parity.max_abs_diff", "pass", 0.25, 0.25, 0.25, 0.25, "max", False,
         "onnx_parity.max_abs_diff = 0.25 [0.25, 0.25]: within the max 0.25"),
        ("onnx_parity.agreement", "pass", 0.75, 0.5, 1.0, 0.75, "min", False,
         "onnx_parity.agreement = 0.75 [0.5, 1]: within the min 0.75"),
    ]  # fmt: skip
    past = {v.gate: v.status for v in onnx_verdicts(ONNX, onnx(0.5, 0.375, 0.625))}
    # clean accuracy 0.5 [0.5, 1] straddles its min with confidence: it passes.
    assert past == {"onnx_clean_accuracy": "pass", "onnx_parity.max_abs_diff": "fail",
                    "onnx_parity.agreement": "fail"}  # fmt: skip
    strict = GatesSection.model_validate({"onnx_clean_accuracy": {"min": 0.75}})
    assert [v.status for v in onnx_verdicts(strict, onnx(0.5, None))] == ["fail"]


def test_the_onnx_gates_say_why_they_were_skipped() -> None:
    assert [(v.gate, v.status, v.message) for v in onnx_verdicts(ONNX, None, "no model")] == [
        ("onnx_clean_accuracy", "skipped", "onnx_clean_accuracy: no model"),
        ("onnx_parity", "skipped", "onnx_parity: no model"),
    ]
    [acc, parity] = onnx_verdicts(ONNX, onnx(1.0, None))
    assert acc.status == "pass"
    assert parity.message == "onnx_parity: no torch target given to compare with"
    only_diff = GatesSection.model_validate({"onnx_parity": {"max_abs_diff": 0.25}})
    assert [v.gate for v in onnx_verdicts(only_diff, onnx(1.0, 0.5))] == [
        "onnx_parity.max_abs_diff"
    ]
    assert onnx_verdicts(GatesSection(), onnx(1.0, 0.5)) == ()


def test_each_gate_passes_with_its_figure_exactly_on_the_line() -> None:
    """Every threshold set to the figure it gates (the low end for a max with confidence, the
    high end for a min): nothing fails."""
    on_the_line = {
        "sdar": {"max": 0.25},
        "weighted_sensitivity": {"max": 1.0, "attributes": ["Mustache"]},
        "flip_rate": {"max": 0.75, "attributes": ["Mustache"], "use_confidence": True},
        "sensitivity": {"max": 0.75, "attributes": ["Mustache"]},
        "attribute_effect": {"max": 2.0, "attributes": ["Mustache"]},
        "path_share": {"max": 0.625, "attributes": ["Mustache"], "use_confidence": True},
        "clean_accuracy": {"min": 1.0, "use_confidence": True},
        "reconstruction_accuracy": {"min": 0.375},
        "attack_success_rate": {"max": {"full": 0.75}},
        "robust_accuracy": {"min": {"full": 0.25}},
        "psnr": {"min": 28},
    }
    got = evaluate(GatesSection.model_validate(on_the_line), result())
    assert [(v.gate, v.status) for v in got] == [
        ("sdar(s)", "pass"), ("weighted_sensitivity[Mustache]", "pass"),
        ("flip_rate[Mustache]", "pass"), ("sensitivity s[Mustache]", "pass"),
        ("attribute_effect[Mustache]", "pass"), ("path_share[Mustache]", "pass"),
        ("clean_accuracy", "pass"), ("reconstruction_accuracy", "pass"),
        ("attack_success_rate[full]", "pass"), ("robust_accuracy[full]", "pass"),
        ("psnr[full]", "pass"),
    ]  # fmt: skip


def test_protected_attributes_and_the_policy_on_unmeasurable_reach_every_per_attribute_gate() -> (
    None
):
    names = ("weighted_sensitivity", "flip_rate", "attribute_effect", "path_share")
    gates = GatesSection.model_validate({n: {"max": 0.5, "attributes": "protected"} for n in names})
    got = [(v.gate, v.status) for v in evaluate(gates, unmeasurable_male(), ("Mustache", "Male"),
                                                on_unmeasurable="skip")]  # fmt: skip
    assert got == [(f"{n}[{a}]", s) for n in names for a, s in
                   (("Mustache", "fail"), ("Male", "skipped"))]  # fmt: skip
    failing = evaluate(gates, unmeasurable_male(), ("Male",))
    assert [v.status for v in failing] == ["unmeasurable"] * 4


def test_a_typo_in_a_gates_attributes_names_the_ones_there_are() -> None:
    gates = GatesSection.model_validate({"sensitivity": {"max": 0.5, "attributes": ["Mustach"]}})
    with pytest.raises(ConfigError) as caught:
        evaluate(gates, result())
    assert str(caught.value) == (
        "policy gates sensitivity s of 'Mustach', which the generator does not have; use one of "
        "Mustache, Male, Young, Blond_Hair, Eyeglasses"
    )


def test_the_onnx_gates_say_no_model_was_given_by_default() -> None:
    assert [v.message for v in onnx_verdicts(ONNX, None)] == [
        "onnx_clean_accuracy: no --onnx model given",
        "onnx_parity: no --onnx model given",
    ]
