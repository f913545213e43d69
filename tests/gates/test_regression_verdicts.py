"""Every regression gate fails on a head built to fail it, and passes at its allowance.

The tables are made by hand: eight probes whose figures differ from probe to probe, and a head
that moves them by the same amount on every probe. Paired by probe, the change is the same in
every resample, so each interval is exactly the change: a gate that compares the wrong reports,
breaks the pairing or reads the wrong figure gives another number, and the verdicts below are
compared whole.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

from sia_audit.errors import DataError
from sia_audit.gates.regression import (
    ProbeTable,
    check_comparable,
    regression_verdicts,
    table_from_report,
    table_from_result,
)
from sia_audit.metrics import BootstrapConfig
from sia_audit.metrics.weighted import WeightedInputs
from sia_audit.policy.gates import RegressionSection

NAMES = ("Bald", "Bangs", "Mustache", "Blond_Hair", "Black_Hair")  # Blond_Hair: the label
N = 8
CONFIG = BootstrapConfig(resamples=200, seed=0)
SPREAD = torch.arange(N, dtype=torch.float64)[:, None] / 16  # 0 .. 7/16, one row per probe


def table(
    *,
    mustache: float = 0.0,
    clean: bool = True,
    adversary: bool = True,
    flips: bool = False,
    rise: float = 1.0,
    order: list[int] | None = None,
    **changes: object,
) -> ProbeTable:
    """A baseline (all defaults) or a head that moves Mustache's figures by `mustache`."""
    k = len(NAMES)
    delta = (0.25 + SPREAD).expand(N, k).clone()
    effects = torch.full((N, k), 0.25, dtype=torch.float64)
    flip_loss = SPREAD.expand(N, k).clone()
    flip_changed = torch.zeros(N, k, dtype=torch.bool)
    m = NAMES.index("Mustache")
    delta[:, m] += mustache  # w = s * effect / rise moves by mustache * 0.25 on every resample
    flip_loss[:, m] += mustache
    flip_changed[:, m] = flips
    t = ProbeTable(
        names=tuple(f"p{i}" for i in range(N)),
        attributes=NAMES,
        frozen=("Blond_Hair",),
        delta=delta,
        correct_clean=torch.full((N,), clean),
        correct_adv=torch.full((N,), adversary),
        provenance={
            "probe_manifest_sha256": "p",
            "generator_sha256": "g",
            "attack": {"a": 1},
            "baselines": ["fgsm"],
        },  # fmt: skip
        weighted=WeightedInputs(delta, effects, torch.full((N,), rise, dtype=torch.float64)),
        flip_loss=flip_loss,
        flip_changed=flip_changed,
    )
    t = dataclasses.replace(t, **changes)
    if order is not None:  # the same probes, saved in another order
        idx = torch.tensor(order)
        w = t.weighted
        t = dataclasses.replace(
            t, names=tuple(t.names[i] for i in order), delta=t.delta[idx],
            correct_clean=t.correct_clean[idx], correct_adv=t.correct_adv[idx],
            weighted=WeightedInputs(w.delta[idx], w.effects[idx], w.rise[idx]),
            flip_loss=t.flip_loss[idx], flip_changed=t.flip_changed[idx],
        )  # fmt: skip
    return t


EVERY = dict(
    sdar_increase=0.125,
    sensitivity_increase=0.25,
    weighted_increase=0.0625,
    flip_rate_increase=0.5,
    flip_loss_increase=0.25,
    attack_success_rate_increase=0.5,
    clean_accuracy_decrease=0.5,
)


def rows(section: RegressionSection, base: ProbeTable, head: ProbeTable) -> list[tuple]:
    verdicts = regression_verdicts(section, base, head, ("Bald", "Mustache"), CONFIG)
    return [(v.gate, v.status, v.value, v.low, v.high, v.threshold, v.bound, v.use_confidence,
             v.message) for v in verdicts]  # fmt: skip


SDAR = pytest.approx(0.2165063509461097)  # std(0.25, 0.25, 0.75, 0.25) - 0, to the rounding
SURELY = "and surely: its interval, simultaneous over the 14 attribute tests, lies above 0"
FAILED_HEAD = [
    ("regression flip_rate[Black_Hair]", "skipped", None, None, None, None, None, False,
     "regression flip_rate[Black_Hair]: its flip changes the label too"),
    ("regression flip_loss[Black_Hair]", "skipped", None, None, None, None, None, False,
     "regression flip_loss[Black_Hair]: its flip changes the label too"),
    ("regression w[Bald]", "pass", 0.0, 0.0, 0.0, 0.0625, "max", True,
     "regression w[Bald] = +0 [0, 0]: within the allowance 0.0625"),
    ("regression w[Bangs]", "pass", 0.0, 0.0, 0.0, 0.0625, "max", True,
     "regression w[Bangs] = +0 [0, 0]: within the allowance 0.0625"),
    ("regression w[Mustache]", "fail", 0.125, 0.125, 0.125, 0.0625, "max", True,
     f"regression w[Mustache] = +0.125 [0.125, 0.125]: rose by 0.125, more than the "
     f"allowance 0.0625, {SURELY}"),
    ("regression w[Black_Hair]", "pass", 0.0, 0.0, 0.0, 0.0625, "max", True,
     "regression w[Black_Hair] = +0 [0, 0]: within the allowance 0.0625"),
    ("regression s[Bald]", "pass", 0.0, 0.0, 0.0, 0.25, "max", True,
     "regression s[Bald] = +0 [0, 0]: within the allowance 0.25"),
    ("regression s[Bangs]", "pass", 0.0, 0.0, 0.0, 0.25, "max", True,
     "regression s[Bangs] = +0 [0, 0]: within the allowance 0.25"),
    ("regression s[Mustache]", "fail", 0.5, 0.5, 0.5, 0.25, "max", True,
     f"regression s[Mustache] = +0.5 [0.5, 0.5]: rose by 0.5, more than the allowance 0.25, "
     f"{SURELY}"),
    ("regression s[Black_Hair]", "pass", 0.0, 0.0, 0.0, 0.25, "max", True,
     "regression s[Black_Hair] = +0 [0, 0]: within the allowance 0.25"),
    ("regression flip_rate[Bald]", "pass", 0.0, 0.0, 0.0, 0.5, "max", True,
     "regression flip_rate[Bald] = +0 [0, 0]: within the allowance 0.5"),
    ("regression flip_rate[Bangs]", "pass", 0.0, 0.0, 0.0, 0.5, "max", True,
     "regression flip_rate[Bangs] = +0 [0, 0]: within the allowance 0.5"),
    ("regression flip_rate[Mustache]", "fail", 1.0, 1.0, 1.0, 0.5, "max", True,
     f"regression flip_rate[Mustache] = +1 [1, 1]: rose by 1, more than the allowance 0.5, "
     f"{SURELY}"),
    ("regression flip_loss[Bald]", "pass", 0.0, 0.0, 0.0, 0.25, "max", True,
     "regression flip_loss[Bald] = +0 [0, 0]: within the allowance 0.25"),
    ("regression flip_loss[Bangs]", "pass", 0.0, 0.0, 0.0, 0.25, "max", True,
     "regression flip_loss[Bangs] = +0 [0, 0]: within the allowance 0.25"),
    ("regression flip_loss[Mustache]", "fail", 0.5, 0.5, 0.5, 0.25, "max", True,
     f"regression flip_loss[Mustache] = +0.5 [0.5, 0.5]: rose by 0.5, more than the allowance "
     f"0.25, {SURELY}"),
    ("regression sdar(s)", "fail", SDAR, SDAR, SDAR, 0.125, "max", True,
     "regression sdar(s) = +0.2165 [0.2165, 0.2165]: rose by 0.2165, more than the allowance "
     "0.125, and surely: its interval lies above 0"),
    ("regression attack_success_rate", "fail", 1.0, 1.0, 1.0, 0.5, "max", True,
     "regression attack_success_rate = +1 [1, 1]: rose by 1, more than the allowance 0.5, and "
     "surely: its interval lies above 0"),
    ("regression clean_accuracy", "pass", 0.0, 0.0, 0.0, -0.5, "min", True,
     "regression clean_accuracy = +0 [0, 0]: within the allowance 0.5"),
]  # fmt: skip


def test_every_regression_gate_fails_on_a_head_built_to_fail_it() -> None:
    base = table()
    head = table(mustache=0.5, adversary=False, flips=True, order=[3, 1, 7, 0, 5, 2, 6, 4])
    assert rows(RegressionSection(**EVERY), base, head) == FAILED_HEAD


def test_the_same_audit_passes_every_regression_gate() -> None:
    got = rows(RegressionSection(**EVERY), table(), table(order=[7, 6, 5, 4, 3, 2, 1, 0]))
    assert {r[1] for r in got} == {"pass", "skipped"}
    assert all(r[2] == 0.0 and r[3] == 0.0 for r in got if r[1] == "pass")


def test_a_rise_equal_to_its_allowance_passes() -> None:
    """On the line: every figure rises by exactly its allowance (and surely), which passes."""
    head = table(mustache=0.5, adversary=False, flips=True)
    section = RegressionSection(
        sdar_increase=0.2165063509461097,
        sensitivity_increase=0.5,
        weighted_increase=0.125,
        flip_rate_increase=1.0,
        flip_loss_increase=0.5,
        attack_success_rate_increase=1.0,
    )
    got = rows(section, table(), head)
    assert [r[1] for r in got if r[1] != "skipped"] == ["pass"] * 16
    assert all("within the allowance" in r[8] for r in got if r[1] == "pass")


def test_a_fall_of_clean_accuracy_fails_beyond_its_allowance_and_passes_on_it() -> None:
    head = table(clean=False)  # every probe now wrong on x0: no attack success rate either
    section = RegressionSection(attack_success_rate_increase=0.0, clean_accuracy_decrease=0.5)
    assert rows(section, table(), head) == [
        ("regression attack_success_rate", "skipped", None, None, None, None, None, False,
         "regression attack_success_rate: a run has no probe right on x0"),
        ("regression clean_accuracy", "fail", -1.0, -1.0, -1.0, -0.5, "min", True,
         "regression clean_accuracy = -1 [-1, -1]: fell by 1, more than the allowance 0.5, and "
         "surely: its interval lies below 0"),
    ]  # fmt: skip
    on_the_line = RegressionSection(clean_accuracy_decrease=1.0)
    assert rows(on_the_line, table(), head)[0][1] == "pass"


def test_regression_gates_judge_significance_unless_the_policy_says_not() -> None:
    """use_confidence is on by default: a rise above the allowance that is not surely above 0
    passes. Off, the estimate alone decides."""
    changed = torch.zeros(N, len(NAMES), dtype=torch.bool)
    changed[0, NAMES.index("Mustache")] = True  # one probe of eight: 0.125 [0, 0.375]
    head = table(flip_changed=changed)
    default = RegressionSection(flip_rate_increase=0.0625, attributes=("Mustache",))
    [got] = rows(default, table(), head)
    assert got[:2] == ("regression flip_rate[Mustache]", "pass") and got[7] is True
    assert got[3] <= 0 < got[2] and "but not surely: its interval reaches 0" in got[8]
    loose = RegressionSection(flip_rate_increase=0.0625, attributes=("Mustache",),
                              use_confidence=False)  # fmt: skip
    [got] = rows(loose, table(), head)
    assert got[1] == "fail" and got[7] is False
    assert got[8].endswith("rose by 0.125, more than the allowance 0.0625")


def test_the_protected_and_listed_attributes_are_the_ones_compared() -> None:
    head = table(mustache=0.5)
    protected = RegressionSection(sensitivity_increase=0.25, attributes="protected")
    assert [r[:2] for r in rows(protected, table(), head)] == [
        ("regression s[Bald]", "pass"), ("regression s[Mustache]", "fail")
    ]  # fmt: skip
    listed = RegressionSection(sensitivity_increase=0.25, attributes=("Blond_Hair", "Bangs"))
    assert [(r[0], r[1], r[8]) for r in rows(listed, table(), head)] == [
        ("regression s[Blond_Hair]", "skipped",
         "regression s[Blond_Hair]: frozen or not a generator attribute"),
        ("regression s[Bangs]", "pass", "regression s[Bangs] = +0 [0, 0]: within the allowance "
         "0.25"),
    ]  # fmt: skip


def test_an_attribute_the_generator_cannot_draw_is_skipped_or_fails() -> None:
    base, head = table(unmeasurable=("Bald",)), table(mustache=0.5, unmeasurable=("Bald",))
    every = rows(RegressionSection(sensitivity_increase=0.25), base, head)
    assert every[0] == (
        "regression s[Bald]",
        "skipped",
        None,
        None,
        None,
        None,
        None,
        False,
        "regression s[Bald]: the generator cannot draw it: not compared",
    )
    assert "simultaneous over the 3 attribute tests" in every[2][8]  # Bald is not tested
    named = RegressionSection(sensitivity_increase=0.25, attributes=("Bald",))
    [got] = rows(named, base, head)
    assert got[:2] == ("regression s[Bald]", "unmeasurable")
    assert got[8] == (
        "regression s[Bald]: unmeasurable with this generator (the generator cannot draw it); "
        "this fails the run (editability.on_unmeasurable: skip would skip it)"
    )
    [skip] = regression_verdicts(named, base, head, (), CONFIG, "skip")
    assert skip.status == "skipped" and "skipped by policy" in skip.message


def test_sdar_without_a_drawable_attribute_is_unmeasurable() -> None:
    drawn = ("Bald", "Bangs", "Mustache", "Black_Hair")
    base, head = table(unmeasurable=drawn), table(mustache=0.5, unmeasurable=drawn)
    [got] = rows(RegressionSection(sdar_increase=1.0), base, head)
    assert got[:2] == ("regression sdar(s)", "unmeasurable")
    assert "(the generator can draw no histogram attribute, so there is no SDAR)" in got[8]


@pytest.mark.parametrize(
    ("side", "words"),
    [("base", "the baseline report holds no"), ("head", "the head report holds no"),
     ("both", "neither report holds")],
)  # fmt: skip
def test_a_report_without_a_figure_skips_its_gates_and_says_which(side: str, words: str) -> None:
    old = {"flip_loss": None, "flip_changed": None}
    base = table(**old) if side in ("base", "both") else table()
    head = table(**old) if side in ("head", "both") else table()
    got = rows(RegressionSection(flip_loss_increase=0.25, attributes=("Bald",)), base, head)
    assert got == [("regression flip_loss[Bald]", "skipped", None, None, None, None, None, False,
                    f"regression flip_loss[Bald]: {words} per-probe counterfactual flips (written "
                    "before reports saved them, or by an attack without them); re-run it to "
                    "compare flip_loss")]  # fmt: skip


@pytest.mark.parametrize("side", ["baseline", "head"])
def test_w_is_not_compared_when_an_attack_raised_no_loss(side: str) -> None:
    base = table(rise=0.0) if side == "baseline" else table()
    head = table(rise=-1.0) if side == "head" else table()
    section = RegressionSection(weighted_increase=0.0, sensitivity_increase=0.0,
                                attributes=("Bald",))  # fmt: skip
    got, s = rows(section, base, head)
    assert s[:2] == ("regression s[Bald]", "pass")  # s needs no loss increase
    assert got[1:] == ("skipped", None, None, None, None, None, False,
                       f"regression w[Bald]: the {side} attack did not raise the mean loss: it "
                       "has no w to compare")  # fmt: skip


@pytest.mark.parametrize(
    ("change", "named"),
    [({"provenance": {"probe_manifest_sha256": "other"}}, "probe_manifest_sha256"),
     ({"provenance": {"generator_sha256": "other"}}, "generator_sha256"),
     ({"provenance": {"attack": {"a": 2}}}, "attack"),
     ({"provenance": {"baselines": []}}, "baselines"),
     ({"attributes": NAMES[::-1]}, "attributes"),
     ({"frozen": ()}, "attributes"),
     ({"unmeasurable": ("Bald",)}, "unmeasurable attributes (editability)"),
     ({"names": tuple(f"q{i}" for i in range(N))}, "probe names")],
)  # fmt: skip
def test_a_baseline_made_otherwise_is_refused_naming_what_differs(change: dict, named: str) -> None:
    base = table()
    if "provenance" in change:
        change = {"provenance": {**base.provenance, **change["provenance"]}}
    with pytest.raises(DataError) as caught:
        check_comparable(base, dataclasses.replace(base, **change), "base.json")
    assert str(caught.value) == (
        f"baseline base.json is not comparable: {named} differ; make the baseline with the same "
        "policy (probes, generator, attack) on the base branch"
    )
    check_comparable(base, table(order=[1, 0, 2, 3, 4, 5, 6, 7]), "base.json")  # reordered: fine


def test_a_table_from_an_audit_holds_what_a_report_would() -> None:
    from types import SimpleNamespace

    t = table(mustache=0.5, flips=True)
    probes = SimpleNamespace(
        names=t.names, delta=t.delta.float(), correct_clean=t.correct_clean,
        correct_adv=t.correct_adv, effects=t.weighted.effects.float(),
        loss_start=torch.zeros(N), loss_adv=t.weighted.rise.float(), flip_loss=t.flip_loss.float(),
        flip_changed=t.flip_changed.to(torch.uint8),
    )  # fmt: skip
    result = SimpleNamespace(
        main=SimpleNamespace(probes=probes), attr_names=NAMES, frozen=("Blond_Hair",),
        provenance={"generator_sha256": "g"},
        sensitivity=SimpleNamespace(unmeasurable=("Bald",)),
        flips=SimpleNamespace(label_leak={"Bangs": 0.1}),
    )  # fmt: skip
    got = table_from_result(result, {"probe_manifest_sha256": "p"})
    assert got.leaky == ("Bangs",)
    assert (got.names, got.attributes, got.frozen, got.unmeasurable) == (
        t.names,
        NAMES,
        ("Blond_Hair",),
        ("Bald",),
    )
    assert got.provenance == {"generator_sha256": "g", "probe_manifest_sha256": "p"}
    for mine, theirs in [
        (got.delta, t.delta),
        (got.weighted.delta, t.delta),
        (got.weighted.effects, t.weighted.effects),
        (got.weighted.rise, t.weighted.rise),
        (got.flip_loss, t.flip_loss),
    ]:
        assert mine.dtype == torch.float64 and torch.equal(mine, theirs)  # fmt: skip
    assert got.flip_changed.dtype == torch.bool and torch.equal(got.flip_changed, t.flip_changed)
    assert torch.equal(got.correct_adv, t.correct_adv)
    assert torch.equal(got.correct_clean, t.correct_clean)
    old = SimpleNamespace(**{**vars(probes), "flip_loss": None, "flip_changed": None,
                             "effects": None})  # fmt: skip
    bare = table_from_result(SimpleNamespace(**{**vars(result), "main": SimpleNamespace(
        probes=old), "flips": None}), {})  # fmt: skip
    assert (bare.flip_loss, bare.flip_changed, bare.weighted) == (None, None, None)
    assert bare.leaky == ()


def test_a_report_without_per_probe_changes_is_damaged() -> None:
    import json

    from tests.commands.test_compare import FIXED

    report = json.loads(FIXED.read_text())
    t = table_from_report(report, "r.json")
    assert t.delta.dtype == torch.float64 and t.correct_clean.dtype == torch.bool
    assert t.delta.shape == (len(t.names), len(t.attributes))
    report["probes"]["delta"] = None
    with pytest.raises(DataError) as caught:
        table_from_report(report, "r.json")
    assert str(caught.value) == (
        "r.json: the report's per-probe data is damaged (probes.delta: null); re-run sia-audit "
        "run to write a new report.json"
    )
    del report["probes"]["names"]
    with pytest.raises(DataError, match=r"^r.json: the report's per-probe data is damaged "
                       r"\(probes.names: missing\)"):  # fmt: skip
        table_from_report(report, "r.json")


def varied(seed: int, order: list[int] | None = None, **changes: object) -> ProbeTable:
    """Figures that differ from probe to probe (seeded), so that a probe paired with another
    probe's figures shows in every interval."""
    g = torch.Generator().manual_seed(seed)
    k = len(NAMES)
    t = table(
        delta=torch.rand(N, k, generator=g, dtype=torch.float64),
        correct_clean=torch.rand(N, generator=g) > 0.25,
        correct_adv=torch.rand(N, generator=g) > 0.5,
        flip_loss=torch.rand(N, k, generator=g, dtype=torch.float64),
        flip_changed=torch.rand(N, k, generator=g) > 0.5,
    )
    t = dataclasses.replace(t, weighted=WeightedInputs(
        t.delta, torch.rand(N, k, generator=g, dtype=torch.float64),
        1 + torch.rand(N, generator=g, dtype=torch.float64)), **changes)  # fmt: skip
    if order is None:
        return t
    idx = torch.tensor(order)
    w = t.weighted
    return dataclasses.replace(
        t, names=tuple(t.names[i] for i in order), delta=t.delta[idx],
        correct_clean=t.correct_clean[idx], correct_adv=t.correct_adv[idx],
        weighted=WeightedInputs(w.delta[idx], w.effects[idx], w.rise[idx]),
        flip_loss=t.flip_loss[idx], flip_changed=t.flip_changed[idx],
    )  # fmt: skip


def test_the_order_a_report_saved_its_probes_in_changes_nothing() -> None:
    section = RegressionSection(**EVERY)
    in_order = rows(section, varied(1), varied(2))
    shuffled = rows(section, varied(1), varied(2, order=[5, 3, 0, 7, 1, 6, 2, 4]))
    assert shuffled == in_order
    assert len({r[3] for r in in_order if r[3] is not None}) > 5  # the intervals differ


def test_the_intervals_are_the_sensitivity_differences_own() -> None:
    """sdar(s) is the paired difference over the measurable attributes, with the policy's
    bootstrap; the per-attribute intervals are symmetric about the change."""
    from sia_audit.metrics.sensitivity import sensitivity_difference

    base, head = varied(1, unmeasurable=("Bangs",)), varied(2, unmeasurable=("Bangs",))
    [*per_attribute, sdar] = rows(RegressionSection(sdar_increase=1.0, sensitivity_increase=1.0),
                                  base, head)  # fmt: skip
    want = sensitivity_difference(
        base.delta,
        head.delta,
        [a != "Blond_Hair" for a in NAMES],
        names=NAMES,
        config=CONFIG,
        unmeasurable=("Bangs",),
    ).sdar_s
    assert sdar[2:5] == (want.value, want.low, want.high)
    tested = [r for r in per_attribute if r[1] != "skipped"]
    assert all(r[3] < r[2] < r[4] and r[4] - r[2] == pytest.approx(r[2] - r[3]) for r in tested)


def test_a_baseline_on_other_arithmetic_raises_small_allowances_to_the_floor() -> None:
    base = table(provenance={**table().provenance, "cpu_capability": "AVX512"})
    head = table(mustache=0.015625, provenance={**base.provenance, "cpu_capability": "DEFAULT"})
    section = RegressionSection(sensitivity_increase=0.01, sdar_increase=0.001,
                                attributes=("Mustache",), use_confidence=False)  # fmt: skip
    [s, sdar] = rows(section, base, head)
    assert (s[1], s[5]) == ("pass", 0.02) and s[8].endswith(
        "within the allowance 0.02 (allowance raised from 0.01 to the rounding floor 0.02: the "
        "baseline was computed with other arithmetic, cpu_capability AVX512 -> DEFAULT)"
    )
    assert sdar[5] == 0.002 and "raised from 0.001 to the rounding floor 0.002" in sdar[8]
    same = rows(section, base, dataclasses.replace(head, provenance=base.provenance))
    assert [(r[1], r[5]) for r in same] == [("fail", 0.01), ("fail", 0.001)]


def test_one_probe_compares_without_an_interval() -> None:
    one = {"names": ("p0",)}
    base = table(**one, delta=torch.full((1, 5), 0.25, dtype=torch.float64),
                 correct_clean=torch.ones(1, dtype=torch.bool),
                 correct_adv=torch.ones(1, dtype=torch.bool), weighted=None, flip_loss=None,
                 flip_changed=None)  # fmt: skip
    head = dataclasses.replace(base, delta=torch.full((1, 5), 0.75, dtype=torch.float64))
    got = rows(RegressionSection(sensitivity_increase=0.25, attributes=("Bald",)), base, head)
    assert got == [("regression s[Bald]", "fail", 0.5, 0.5, 0.5, 0.25, "max", True,
                    "regression s[Bald] = +0.5 [0.5, 0.5]: rose by 0.5, more than the allowance "
                    "0.25, and surely: its interval lies above 0")]  # fmt: skip


def test_tables_without_probes_skip_the_per_attribute_gates_with_the_reason() -> None:
    empty = table(names=(), delta=torch.zeros(0, 5, dtype=torch.float64), weighted=None,
                  flip_loss=torch.zeros(0, 5, dtype=torch.float64),
                  flip_changed=torch.zeros(0, 5, dtype=torch.bool))  # fmt: skip
    got = rows(RegressionSection(flip_loss_increase=0.25, attributes=("Bald",)), empty, empty)
    assert got == [
        (
            "regression flip_loss[Bald]",
            "skipped",
            None,
            None,
            None,
            None,
            None,
            False,
            "regression flip_loss[Bald]: no probes: a figure needs at least one probe",
        )
    ]


def test_a_missing_figure_keeps_the_other_skips_of_its_family() -> None:
    base = table(flip_loss=None, flip_changed=None)
    got = rows(RegressionSection(flip_loss_increase=0.25, attributes=("Black_Hair", "Bald")),
               base, table())  # fmt: skip
    assert [(r[0], r[1]) for r in got] == [("regression flip_loss[Black_Hair]", "skipped"),
                                           ("regression flip_loss[Bald]", "skipped")]  # fmt: skip
    assert "its flip changes the label too" in got[0][8]


@pytest.mark.parametrize("side", ["base", "head"])
def test_a_flip_that_redraws_the_label_is_compared_whichever_side_names_it(side: str) -> None:
    """Bald's flip redraws the label in one report (the report's flip figures leave it out):
    the regression still compares its flips, paired by probe, as it does Mustache's."""
    leaky = {side: ("Bald",)}
    base = table(leaky=leaky.get("base", ()))
    head = table(mustache=0.5, flips=True, leaky=leaky.get("head", ()))
    bald = NAMES.index("Bald")
    head.flip_changed[:, bald] = True
    head.flip_loss[:, bald] += 0.5
    head.delta[:, bald] += 0.5
    section = RegressionSection(
        sensitivity_increase=0.25,
        flip_rate_increase=0.5,
        flip_loss_increase=0.25,
        attributes=("Bald", "Mustache"),
    )
    got = {r[0]: (r[1], r[8]) for r in rows(section, base, head)}  # fmt: skip
    for fig in ("flip_rate", "flip_loss"):
        assert got[f"regression {fig}[Bald]"][0] == "fail"
        assert got[f"regression {fig}[Mustache]"][0] == "fail"
    assert got["regression s[Bald]"][0] == "fail" and got["regression s[Mustache]"][0] == "fail"
    still = dataclasses.replace(head, flip_loss=base.flip_loss, flip_changed=base.flip_changed)
    same = {r[0]: r[1] for r in rows(section, base, still)}
    assert same["regression flip_rate[Bald]"] == "pass"  # compared: no rise, no failure


@pytest.mark.parametrize("on_unmeasurable", ["fail", "skip"])
def test_sdar_follows_the_policy_on_what_cannot_be_drawn(on_unmeasurable: str) -> None:
    drawn = ("Bald", "Bangs", "Mustache", "Black_Hair")
    base, head = table(unmeasurable=drawn), table(unmeasurable=drawn)
    [v] = regression_verdicts(RegressionSection(sdar_increase=1.0), base, head, (), CONFIG,
                              on_unmeasurable)  # fmt: skip
    assert v.status == ("unmeasurable" if on_unmeasurable == "fail" else "skipped")


def test_a_report_holds_every_per_probe_array_a_regression_compares() -> None:
    from tests.test_report_schema_paths import fixed

    report = fixed()
    p = report["probes"]
    t = table_from_report(report, "r.json")
    assert t.names == tuple(p["names"]) and t.attributes == tuple(p["attributes"])
    assert t.frozen == tuple(p["frozen"]) and t.provenance == report["provenance"]
    assert t.delta.tolist() == p["delta"] and t.delta.dtype == torch.float64
    for mine, saved in [
        (t.correct_clean, p["correct_clean"]),
        (t.correct_adv, p["correct_adversary"]),
    ]:
        assert mine.dtype == torch.bool and mine.tolist() == saved  # fmt: skip
    assert t.flip_loss.dtype == torch.float64 and t.flip_loss.tolist() == p["flip_loss"]
    assert t.flip_changed.dtype == torch.bool and t.flip_changed.tolist() == p["flip_changed"]
    w = t.weighted
    assert w.delta is t.delta and w.effects.tolist() == p["effects"]
    assert w.rise.dtype == torch.float64 and w.effects.dtype == torch.float64
    assert w.rise.tolist() == [a - s for a, s in zip(p["loss_adversary"], p["loss_start"],
                                                     strict=True)]  # fmt: skip
    assert "counterfactual_flips" not in report["figures"] and t.leaky == ()
    from sia_audit.metrics.counterfactual import counterfactual_flips

    names, n = p["attributes"], len(p["names"])
    flips = counterfactual_flips(
        torch.zeros(n, len(names)), torch.zeros(n, len(names), dtype=torch.bool),
        [a != names[0] for a in names], names=names, config=BootstrapConfig(resamples=20),
        label_leak={names[0]: 0.07},
    )  # fmt: skip
    report["figures"]["counterfactual_flips"] = flips.as_dict()
    assert table_from_report(report, "r.json").leaky == (names[0],)
    report["figures"]["sensitivity"]["unmeasurable"] = ["Bald"]
    assert table_from_report(report, "r.json").unmeasurable == ("Bald",)
    del p["loss_start"]  # written before w's inputs were saved: no w to compare
    assert table_from_report(report, "r.json").weighted is None


def test_the_policys_bootstrap_draws_every_interval() -> None:
    """Another seed gives other intervals on every compared gate: none uses a default."""
    section = RegressionSection(**EVERY)
    base, head = varied(1), varied(2)
    first = regression_verdicts(section, base, head, (), BootstrapConfig(50, seed=1, level=0.5))
    other = regression_verdicts(section, base, head, (), BootstrapConfig(50, seed=2, level=0.5))
    compared = [
        (a.gate, a.low, b.low) for a, b in zip(first, other, strict=True) if a.low is not None
    ]
    assert len(compared) == 17 and all(a != b for _, a, b in compared), compared


BASE_MUSTACHE = 3.5 / 16  # the baseline's flip loss on Mustache: the mean of SPREAD


@pytest.mark.parametrize(
    ("absolute", "relative", "rise", "status", "limit"),
    [(0.05, 1.0, 0.2, "pass", BASE_MUSTACHE),  # within the baseline's own level
     (0.05, 1.0, 0.25, "fail", BASE_MUSTACHE),
     (None, 1.0, 0.25, "fail", BASE_MUSTACHE),  # the relative allowance alone
     (0.05, 0.1, 0.06, "fail", 0.05),  # the absolute one is the larger: it decides
     (0.05, 0.1, 0.04, "pass", 0.05),
     (0.3, 1.0, 0.25, "pass", 0.3)],
)  # fmt: skip
def test_a_relative_flip_loss_allowance_scales_with_the_baselines_own_flip_loss(
    absolute: float | None, relative: float, rise: float, status: str, limit: float
) -> None:
    section = RegressionSection(flip_loss_increase=absolute, flip_loss_relative_increase=relative,
                                attributes=("Mustache",))  # fmt: skip
    [got] = rows(section, table(), table(mustache=rise))
    assert got[:2] == ("regression flip_loss[Mustache]", status)
    assert got[2] == pytest.approx(rise) and got[5] == pytest.approx(limit)
    assert (f"(the larger of {absolute or 0:g} and {relative:g} x the baseline's "
            f"{BASE_MUSTACHE:.4g})") in got[8]  # fmt: skip


def test_a_relative_allowance_of_zero_leaves_the_absolute_one_as_it_was() -> None:
    plain = RegressionSection(flip_loss_increase=0.05, attributes=("Mustache",))
    zero = RegressionSection(flip_loss_increase=0.05, flip_loss_relative_increase=0.0,
                             attributes=("Mustache",))  # fmt: skip
    for rise in (0.04, 0.06):
        head = table(mustache=rise)
        assert rows(plain, table(), head) == rows(zero, table(), head)


def test_a_capped_flip_loss_counts_each_probe_up_to_the_cap() -> None:
    """The cap makes the compared figure a clipped mean: one probe with a huge loss change
    widens the interval past 0 uncapped; capped, the same rise on every other probe is sure."""
    base = table()
    loss = base.flip_loss.clone()
    m = NAMES.index("Mustache")
    loss[:, m] += 0.5  # every probe's flip of Mustache moves the loss by 0.5 more ...
    loss[0, m] = 40.0  # ... and one by 40: the mean is 5.4, its interval reaches 0
    head = dataclasses.replace(base, flip_loss=loss)
    plain = RegressionSection(flip_loss_increase=0.05, attributes=("Mustache",))
    capped = RegressionSection(flip_loss_increase=0.05, flip_loss_cap=1.0, attributes=("Mustache",))
    [free] = rows(plain, base, head)
    [held] = rows(capped, base, head)
    assert free[1] == "pass" and "but not surely" in free[8]
    assert free[3] <= 0 < free[2]
    assert held[1] == "fail" and "and surely" in held[8]
    # capped at 1 per probe: probes 0 .. 7 hold min(v, 1) - v_base: (1 - 0) + 0.5 on the others
    expected = (1.0 + 7 * 0.5) / N
    assert held[2] == pytest.approx(expected)
    assert "(each probe's |loss change| counted up to 1)" in held[8]


def test_the_cap_applies_to_the_baseline_level_a_relative_allowance_reads() -> None:
    base = table()
    loss = base.flip_loss.clone()
    m = NAMES.index("Mustache")
    loss[:, m] = 4.0  # the baseline's own flip loss on Mustache: 4 uncapped, 1 capped
    base = dataclasses.replace(base, flip_loss=loss)
    section = RegressionSection(flip_loss_relative_increase=1.0, flip_loss_cap=1.0,
                                attributes=("Mustache",))  # fmt: skip
    [got] = rows(section, base, base)
    assert got[1] == "pass" and got[5] == pytest.approx(1.0)
    assert (
        "(the larger of 0 and 1 x the baseline's 1; each probe's |loss change| counted up to 1)"
        in got[8]
    )


def test_no_cap_leaves_the_flip_loss_as_it_was() -> None:
    plain = RegressionSection(flip_loss_increase=0.05, attributes=("Mustache",))
    wide = RegressionSection(flip_loss_increase=0.05, flip_loss_cap=100.0, attributes=("Mustache",))
    for rise in (0.04, 0.06):
        head = table(mustache=rise)
        a, b = rows(plain, table(), head), rows(wide, table(), head)
        assert [r[:8] for r in a] == [r[:8] for r in b]


def test_the_cap_applies_to_both_reports_alike() -> None:
    """A face that moves both models' loss by 40 is no change: capped on one side only, it
    would read as a change of 39 and mask the rise on every other face."""
    m = NAMES.index("Mustache")
    base = table()
    loss = base.flip_loss.clone()
    loss[0, m] = 40.0
    base = dataclasses.replace(base, flip_loss=loss)
    loss = loss.clone()
    loss[1:, m] += 0.5
    head = dataclasses.replace(base, flip_loss=loss)
    section = RegressionSection(
        flip_loss_increase=0.05, flip_loss_cap=1.0, attributes=("Mustache",)
    )
    [got] = rows(section, base, head)
    assert got[1] == "fail" and got[2] == pytest.approx(7 * 0.5 / N)
