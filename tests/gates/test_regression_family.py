"""Regression gates on every measurable attribute, tested together."""

from __future__ import annotations

import dataclasses

import torch

from sia_audit.gates.regression import ProbeTable, regression_verdicts
from sia_audit.metrics import BootstrapConfig
from sia_audit.policy.gates import RegressionSection

NAMES = ("Bald", "Bangs", "Black_Hair", "Blond_Hair", "Eyeglasses", "Mustache")
CONFIG = BootstrapConfig(resamples=500, seed=0)


def table(changed: torch.Tensor, seed: int = 0, unmeasurable: tuple[str, ...] = ()) -> ProbeTable:
    n = changed.shape[0]
    g = torch.Generator().manual_seed(seed)
    return ProbeTable(
        names=tuple(f"p{i}" for i in range(n)),
        attributes=NAMES,
        frozen=("Blond_Hair",),  # the label: its hair-colour partners are not flipped
        delta=torch.rand(n, len(NAMES), generator=g, dtype=torch.float64) * 0.1,
        correct_clean=torch.ones(n, dtype=torch.bool),
        correct_adv=torch.zeros(n, dtype=torch.bool),
        provenance={},
        unmeasurable=unmeasurable,
        flip_loss=torch.zeros(n, len(NAMES), dtype=torch.float64),
        flip_changed=changed,
    )


def verdicts(section: RegressionSection, base: ProbeTable, head: ProbeTable) -> dict:
    return {v.gate: v for v in regression_verdicts(section, base, head, ("Bald",), CONFIG, "fail")}


def test_a_shortcut_on_an_attribute_nobody_protected_fails() -> None:
    n = 64
    calm = torch.zeros(n, len(NAMES), dtype=torch.bool)
    shortcut = calm.clone()
    shortcut[::4, NAMES.index("Mustache")] = True  # a quarter of the answers hang on it
    got = verdicts(RegressionSection(flip_rate_increase=0.05), table(calm), table(shortcut))
    assert got["regression flip_rate[Mustache]"].status == "fail"
    assert (
        "simultaneous over the 4 attribute tests" in got["regression flip_rate[Mustache]"].message
    )
    # The label is frozen, its hair-colour partner's flip changes the label: neither is tested.
    assert got["regression flip_rate[Black_Hair]"].status == "skipped"
    assert "regression flip_rate[Blond_Hair]" not in got  # `all`: the unfrozen ones
    only = verdicts(
        RegressionSection(flip_rate_increase=0.05, attributes="protected"), table(calm),
        table(shortcut),
    )  # fmt: skip
    assert set(only) == {"regression flip_rate[Bald]"}  # protected: Bald alone, which passes
    assert only["regression flip_rate[Bald]"].status == "pass"


def test_a_rise_significant_alone_is_not_significant_over_every_attribute() -> None:
    """Six probes of 64 change their answer on each of the four flippable attributes: above a
    0.02 allowance everywhere; one attribute alone is surely above 0, the four tested at once
    are not (the intervals widen to cover all four together)."""
    n = 64
    calm = torch.zeros(n, len(NAMES), dtype=torch.bool)
    noisy = calm.clone()
    g = torch.Generator().manual_seed(1)
    for j in range(len(NAMES)):
        noisy[torch.randperm(n, generator=g)[:6], j] = True
    section = RegressionSection(flip_rate_increase=0.02)
    got = verdicts(section, table(calm), table(noisy))["regression flip_rate[Bangs]"]
    assert got.status == "pass" and "but not surely" in got.message, got.message
    alone = RegressionSection(flip_rate_increase=0.02, attributes=("Bangs",))
    one = verdicts(alone, table(calm), table(noisy))["regression flip_rate[Bangs]"]
    assert one.status == "fail" and one.low > 0 > got.low
    loose = RegressionSection(flip_rate_increase=0.02, use_confidence=False)
    assert (
        verdicts(loose, table(calm), table(noisy))["regression flip_rate[Bangs]"].status == "fail"
    )


def test_all_skips_what_the_generator_cannot_draw_and_a_named_one_fails() -> None:
    calm = torch.zeros(32, len(NAMES), dtype=torch.bool)
    base, head = table(calm, unmeasurable=("Bald",)), table(calm, 1, unmeasurable=("Bald",))
    got = verdicts(RegressionSection(sensitivity_increase=0.5), base, head)
    assert got["regression s[Bald]"].status == "skipped"
    named = RegressionSection(sensitivity_increase=0.5, attributes=("Bald",))
    assert verdicts(named, base, head)["regression s[Bald]"].status == "unmeasurable"


def test_reports_without_flips_skip_the_flip_gates_with_the_reason() -> None:
    calm = torch.zeros(16, len(NAMES), dtype=torch.bool)
    old = dataclasses.replace(table(calm), flip_loss=None, flip_changed=None)
    got = verdicts(RegressionSection(flip_rate_increase=0.05), old, table(calm))
    assert got["regression flip_rate[Mustache]"].status == "skipped"
    assert "the baseline report holds no per-probe counterfactual flips" in (
        got["regression flip_rate[Mustache]"].message
    )
