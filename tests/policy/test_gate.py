"""The gate as a pure function: thresholds, intervals with use_confidence, skips with reasons."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from sia_audit.errors import ConfigError
from sia_audit.gates.thresholds import check_max, check_min, evaluate, passed
from sia_audit.metrics import Estimate
from sia_audit.policy.gates import GatesSection
from tests.fakes import FakeResult


def est(value: float, low: float, high: float, n: int = 100) -> Estimate:
    return Estimate(value=value, low=low, high=high, n=n, level=0.95, definition="test")


@pytest.mark.parametrize(
    ("value", "low", "high", "limit", "confidence", "status"),
    [
        (0.10, 0.08, 0.12, 0.11, False, "pass"),
        (0.12, 0.10, 0.14, 0.11, False, "fail"),
        (0.12, 0.10, 0.14, 0.11, True, "pass"),  # the interval straddles the line
        (0.14, 0.12, 0.16, 0.11, True, "fail"),  # the whole interval is above
        (0.11, 0.10, 0.12, 0.11, False, "pass"),  # equal to the max passes
    ],
)
def test_check_max(value, low, high, limit, confidence, status) -> None:
    v = check_max("sdar(s)", est(value, low, high), limit, confidence)
    assert v.status == status
    assert f"{limit:g}" in v.message and v.gate in v.message


@pytest.mark.parametrize(
    ("value", "low", "high", "limit", "confidence", "status"),
    [
        (0.99, 0.97, 1.00, 0.98, False, "pass"),
        (0.97, 0.95, 0.99, 0.98, False, "fail"),
        (0.97, 0.95, 0.99, 0.98, True, "pass"),
        (0.95, 0.93, 0.97, 0.98, True, "fail"),
    ],
)
def test_check_min(value, low, high, limit, confidence, status) -> None:
    assert check_min("clean_accuracy", est(value, low, high), limit, confidence).status == status


def fake_result() -> FakeResult:
    sens = SimpleNamespace(
        attributes=("Mustache", "Male", "Young"),
        excluded=("Eyeglasses",),
        s=(est(0.10, 0.09, 0.11), est(0.02, 0.01, 0.03), est(0.03, 0.02, 0.04)),
        h=(est(0.67, 0.6, 0.7), est(0.13, 0.1, 0.2), est(0.2, 0.1, 0.3)),
        sdar_s=est(0.035, 0.03, 0.04),
        sdar_h=est(0.24, 0.2, 0.3),
        unmeasurable=(),
    )
    full = SimpleNamespace(
        attack_success_rate=est(0.7, 0.6, 0.8),
        robust_accuracy=est(0.3, 0.2, 0.4),
        psnr_x0=est(33.0, 32.0, 34.0),
    )
    pgd = SimpleNamespace(attack_success_rate=est(0.0, 0.0, 0.0, n=0), robust_accuracy=est(1, 1, 1))
    effects = SimpleNamespace(
        attributes=sens.attributes,
        effect=(est(0.05, 0.02, 0.08), est(0.60, 0.45, 0.75), est(0.01, 0.0, 0.02)),
    )
    return FakeResult(
        sensitivity=sens,
        effects=effects,
        path_attribution=None,
        weighted=None,
        flips=None,
        clean_accuracy=est(1.0, 1.0, 1.0),
        reconstruction_accuracy=est(0.97, 0.95, 0.99),
        attacks={"full": full, "pgd": pgd},
        main_attack="full",
        main=full,
    )


def test_evaluate_every_gate() -> None:
    gates = GatesSection.model_validate(
        {
            "sdar": {"max": 0.05},
            "sensitivity": {"max": 0.08, "attributes": "protected"},
            "clean_accuracy": {"min": 0.98},
            "reconstruction_accuracy": {"min": 0.98, "use_confidence": True},
            "attack_success_rate": {"max": {"full": 0.5, "pgd": 0.5}},
            "robust_accuracy": {"min": {"full": 0.2}},
            "psnr": {"min": 30},
        }
    )
    verdicts = {v.gate: v for v in evaluate(gates, fake_result(), ("Mustache", "Eyeglasses"))}
    assert verdicts["sdar(s)"].status == "pass"
    assert verdicts["sensitivity s[Mustache]"].status == "fail"
    assert verdicts["sensitivity s[Eyeglasses]"].status == "skipped"
    assert "frozen" in verdicts["sensitivity s[Eyeglasses]"].message
    assert verdicts["reconstruction_accuracy"].status == "pass"  # 0.97 but interval reaches 0.99
    assert verdicts["attack_success_rate[full]"].status == "fail"
    assert verdicts["attack_success_rate[pgd]"].status == "skipped"
    assert verdicts["robust_accuracy[full]"].status == "pass"
    assert verdicts["psnr[full]"].status == "pass"
    assert not passed(verdicts.values())
    assert passed(v for v in verdicts.values() if v.status != "fail")


def test_a_typo_in_protected_is_an_error_not_a_pass() -> None:
    gates = GatesSection.model_validate({"sensitivity": {"max": 0.08, "attributes": "protected"}})
    with pytest.raises(ConfigError, match="Mustach"):
        evaluate(gates, fake_result(), ("Mustach",))


def test_normalised_sensitivity_uses_h() -> None:
    gates = GatesSection.model_validate(
        {"sensitivity": {"max": 0.5, "normalised": True, "attributes": ["Mustache", "Male"]}}
    )
    verdicts = evaluate(gates, fake_result())
    assert [v.status for v in verdicts] == ["fail", "pass"]


def test_attribute_effect_gate_reads_the_effects_by_name() -> None:
    gates = GatesSection.model_validate(
        {"attribute_effect": {"max": 0.3, "attributes": "all", "use_confidence": True}}
    )
    verdicts = {v.gate: v.status for v in evaluate(gates, fake_result())}
    assert verdicts == {
        "attribute_effect[Mustache]": "pass",
        "attribute_effect[Male]": "fail",  # 0.60 [0.45, 0.75]: the whole interval is above
        "attribute_effect[Young]": "pass",
    }
    without = FakeResult(**{**vars(fake_result()), "effects": None})
    [skip] = evaluate(gates, without)
    assert skip.status == "skipped" and "not computed" in skip.message


def with_unmeasurable(name: str, expression: float) -> SimpleNamespace:
    """fake_result() where the generator cannot draw `name` (its expression rate is low)."""
    r = fake_result()
    r.sensitivity.unmeasurable = (name,)
    editability = SimpleNamespace(
        min_expression=0.8,
        of=lambda n: SimpleNamespace(expression=est(expression, expression - 0.1, expression)),
    )
    return FakeResult(**{**vars(r), "editability": editability})


@pytest.mark.parametrize("normalised", [False, True])
def test_a_gate_on_an_unmeasurable_attribute_fails_the_run(normalised: bool) -> None:
    gates = GatesSection.model_validate(
        {"sensitivity": {"max": 0.5, "normalised": normalised, "attributes": ["Male", "Young"]}}
    )
    verdicts = {v.gate: v for v in evaluate(gates, with_unmeasurable("Male", 0.31))}
    symbol = "h" if normalised else "s"
    male = verdicts[f"sensitivity {symbol}[Male]"]
    # s[Male] = 0.02 would pass its ceiling: what the generator cannot draw must not pass.
    assert male.status == "unmeasurable"
    assert "expression rate 0.31 < 0.8" in male.message and "skip" in male.message
    assert verdicts[f"sensitivity {symbol}[Young]"].status == "pass"
    assert not passed(verdicts.values())


@pytest.mark.parametrize("on_unmeasurable", ["fail", "skip"])
def test_sdar_is_unmeasurable_when_no_attribute_is_measurable(on_unmeasurable: str) -> None:
    """No attribute the generator can draw: no histogram, so no SDAR to pass."""
    gates = GatesSection.model_validate({"sdar": {"max": 1.0}, "clean_accuracy": {"min": 0.5}})
    r = with_unmeasurable("Mustache", 0.0)
    r.sensitivity.unmeasurable = r.sensitivity.attributes
    verdicts = {v.gate: v for v in evaluate(gates, r, on_unmeasurable=on_unmeasurable)}
    sdar = verdicts["sdar(s)"]
    want = "unmeasurable" if on_unmeasurable == "fail" else "skipped"
    assert sdar.status == want and "no histogram attribute" in sdar.message
    assert verdicts["clean_accuracy"].status == "pass"  # what does not need G is measured
    assert passed(verdicts.values()) == (on_unmeasurable == "skip")


def test_on_unmeasurable_skip_skips_with_the_reason() -> None:
    gates = GatesSection.model_validate({"attribute_effect": {"max": 5.0, "attributes": "all"}})
    result = with_unmeasurable("Young", 0.5)
    verdicts = {v.gate: v for v in evaluate(gates, result, on_unmeasurable="skip")}
    young = verdicts["attribute_effect[Young]"]
    assert young.status == "skipped" and "unmeasurable" in young.message
    assert "0.5 < 0.8" in young.message
    assert passed(verdicts.values())


def test_path_share_gate_reads_the_shares_by_name() -> None:
    gates = GatesSection.model_validate({"path_share": {"max": 0.3, "attributes": "all"}})
    r = fake_result()
    r.path_attribution = SimpleNamespace(
        attributes=r.sensitivity.attributes,
        share=(est(0.55, 0.5, 0.6), est(0.1, 0.05, 0.15), est(0.2, 0.1, 0.3)),
    )
    assert {v.gate: v.status for v in evaluate(gates, r)} == {
        "path_share[Mustache]": "fail",
        "path_share[Male]": "pass",
        "path_share[Young]": "pass",
    }
    r.path_attribution = None
    [skip] = evaluate(gates, r)
    assert skip.status == "skipped" and "no path attribution" in skip.message


def test_weighted_sensitivity_gate_reads_w_by_name_and_skips_without_it() -> None:
    gates = GatesSection.model_validate(
        {"weighted_sensitivity": {"max": 0.05, "attributes": "all", "use_confidence": True}}
    )
    r = fake_result()
    r.weighted = SimpleNamespace(
        attributes=r.sensitivity.attributes,
        w=(est(0.20, 0.12, 0.3), est(0.06, 0.04, 0.08), est(0.01, 0.0, 0.02)),
    )
    assert {v.gate: v.status for v in evaluate(gates, r)} == {
        "weighted_sensitivity[Mustache]": "fail",
        "weighted_sensitivity[Male]": "pass",  # its interval straddles the max
        "weighted_sensitivity[Young]": "pass",
    }
    r.weighted = None
    [skip] = evaluate(gates, r)
    assert skip.status == "skipped" and "no weighted sensitivity" in skip.message
