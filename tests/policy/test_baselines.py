"""Pixel baselines run only when asked: listed, named by a gate, or read by a `fail` flag."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from sia_audit.app.inputs import audit_config
from sia_audit.policy.models import Policy


def policy(**data: object) -> Policy:
    return Policy.model_validate({"version": 1, **data})


def test_none_by_default() -> None:
    assert policy().pixel_baselines() == ()
    assert audit_config(policy(), "cpu", None).baselines == ()


def test_listed_ones_run_as_listed_even_none() -> None:
    assert policy(attack={"baselines": ["pgd", "fgsm"]}).pixel_baselines() == ("pgd", "fgsm")
    strict_flag = {"pgd_weaker_than_fgsm": "fail"}
    assert policy(attack={"baselines": []}, flags=strict_flag).pixel_baselines() == ()


def test_gates_and_failing_flags_ask_for_them() -> None:
    gates = {"robust_accuracy": {"min": {"pgd": 0.1}}}
    assert policy(gates=gates).pixel_baselines() == ("pgd",)
    gates = {"attack_success_rate": {"max": {"full": 0.9, "fgsm": 0.5}}}
    assert policy(gates=gates).pixel_baselines() == ("fgsm",)  # not the main attack
    assert policy(flags={"pixel_level_failures": "fail"}).pixel_baselines() == ("fgsm",)
    both = policy(
        flags={"pgd_weaker_than_fgsm": "fail"}, gates={"robust_accuracy": {"min": {"pgd": 0}}}
    )
    assert both.pixel_baselines() == ("pgd", "fgsm")
    assert policy(flags={"pgd_weaker_than_fgsm": "warn"}).pixel_baselines() == ()


def test_a_gate_on_an_attack_that_is_no_pixel_baseline_is_refused() -> None:
    with pytest.raises(ValidationError, match="does not run"):
        policy(gates={"robust_accuracy": {"min": {"attr": 0.5}}})
    listed = {"baselines": ["fgsm"]}
    with pytest.raises(ValidationError, match="does not run"):
        policy(attack=listed, gates={"robust_accuracy": {"min": {"pgd": 0.5}}})
