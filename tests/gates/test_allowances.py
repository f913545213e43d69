"""The pieces a regression verdict is made of: the rule's verdict in full, the rounding floors,
and what makes two reports comparable."""

from __future__ import annotations

import pytest

from sia_audit.errors import DataError
from sia_audit.gates.comparable import differing_provenance, refuse_if
from sia_audit.gates.numerics import allowance, arithmetic_differences
from sia_audit.gates.rise import Rise, check_fall, check_rise


def fields(v) -> tuple:  # noqa: ANN001
    return (v.gate, v.status, v.value, v.low, v.high, v.threshold, v.bound, v.use_confidence,
            v.message)  # fmt: skip


def test_a_rise_verdict_carries_the_change_and_its_reason() -> None:
    assert fields(check_rise("regression s[Bald]", Rise(0.5, 0.25, 0.75), 0.125, True)) == (
        "regression s[Bald]", "fail", 0.5, 0.25, 0.75, 0.125, "max", True,
        "regression s[Bald] = +0.5 [0.25, 0.75]: rose by 0.5, more than the allowance 0.125, and "
        "surely: its interval lies above 0",
    )  # fmt: skip
    noted = check_rise("g", Rise(0.5, -0.25, 0.75, 3), 0.125, False, " (a note)")
    assert fields(noted)[1:] == (
        "fail", 0.5, -0.25, 0.75, 0.125, "max", False,
        "g = +0.5 [-0.25, 0.75]: rose by 0.5, more than the allowance 0.125 (a note)",
    )  # fmt: skip


def test_a_fall_verdict_reports_the_change_not_its_negation() -> None:
    got = check_fall("regression clean_accuracy", Rise(-0.5, -0.75, -0.25, 3), 0.125, True)
    assert fields(got) == (
        "regression clean_accuracy", "fail", -0.5, -0.75, -0.25, -0.125, "min", True,
        "regression clean_accuracy = -0.5 [-0.75, -0.25]: fell by 0.5, more than the allowance "
        "0.125, and surely: its interval, simultaneous over the 3 attribute tests, lies below 0",
    )  # fmt: skip
    unsure = check_fall("c", Rise(-0.5, -0.75, 0.25), 0.125, True, " (n)")
    assert unsure.status == "pass" and unsure.message == (
        "c = -0.5 [-0.75, 0.25]: fell by 0.5, more than the allowance 0.125, but not surely: its "
        "interval reaches 0 (n)"
    )
    on_the_line = check_fall("c", Rise(-0.125, -0.25, -0.0625), 0.125, False)
    assert (on_the_line.status, on_the_line.use_confidence) == ("pass", False)
    assert on_the_line.message.endswith(": within the allowance 0.125")


CPU = "GenuineIntel 6/167/1 flags:fc7df03f53a7"
BASE = {"device": "cpu", "processor": CPU,
        "cpu_capability": "AVX512", "torch_version": "2.14.1",
        "batch_size": 32, "ranks": 1, "torch_compile": False, "cuda_graphs": False,
        "attack": {"autocast_bf16": False, "channels_last": False, "steps": 50}}  # fmt: skip


@pytest.mark.parametrize(
    ("key", "value", "said"),
    [("device", "cuda", "device cpu -> cuda"),
     ("processor", "GenuineIntel 6/143/8 flags:0a1b2c3d4e5f",
      f"processor {CPU} -> GenuineIntel 6/143/8 flags:0a1b2c3d4e5f"),
     ("processor", None, f"processor {CPU} -> None"),
     ("cpu_capability", "DEFAULT", "cpu_capability AVX512 -> DEFAULT"),
     ("torch_version", "2.15", "torch_version 2.14.1 -> 2.15"),
     ("batch_size", 16, "batch_size 32 -> 16"), ("ranks", 2, "ranks 1 -> 2"),
     ("torch_compile", True, "torch_compile False -> True"),
     ("cuda_graphs", True, "cuda_graphs False -> True")],
)  # fmt: skip
def test_each_arithmetic_field_is_named_when_it_differs(key: str, value: object, said: str) -> None:
    assert arithmetic_differences(BASE, {**BASE, key: value}) == [said]


def test_the_attacks_arithmetic_counts_and_its_other_settings_do_not() -> None:
    head = {**BASE, "threads": 2,
            "attack": {"autocast_bf16": True, "channels_last": True, "steps": 10}}  # fmt: skip
    assert arithmetic_differences(BASE, head) == [
        "autocast_bf16 False -> True",
        "channels_last False -> True",
    ]
    assert arithmetic_differences(BASE, dict(BASE)) == []
    assert arithmetic_differences({}, {"attack": {"channels_last": True}}) == [
        "channels_last None -> True"
    ]


def test_an_allowance_below_the_rounding_floor_is_raised_only_across_arithmetic() -> None:
    assert allowance("s", 0.01, []) == (0.01, "")
    assert allowance("s", 0.02, ["device cpu -> cuda"]) == (0.02, "")  # on the floor
    assert allowance("flip_rate", 0.0, ["device cpu -> cuda"]) == (0.0, "")  # no floor
    assert allowance("sdar_s", 0.001, ["a -> b", "c -> d"]) == (0.002, (
        " (allowance raised from 0.001 to the rounding floor 0.002: the baseline was computed "
        "with other arithmetic, a -> b; c -> d)"
    ))  # fmt: skip
    assert allowance("w", 0.0, ["x"])[0] == 0.005


def test_provenance_is_compared_by_content_not_by_key_order() -> None:
    base = {"probe_manifest_sha256": "p", "generator_sha256": "g", "attack": {"a": 1, "b": 2},
            "baselines": ["fgsm"], "target_sha256": "t1"}  # fmt: skip
    same = {**base, "attack": {"b": 2, "a": 1}, "target_sha256": "t2"}  # the target may differ
    assert differing_provenance(base, same) == []
    assert differing_provenance(base, {}) == [
        "probe_manifest_sha256",
        "generator_sha256",
        "attack",
        "baselines",
    ]
    refuse_if([], "b.json")  # nothing differs: no error
    with pytest.raises(DataError) as caught:
        refuse_if(["attack", "baselines"], "b.json")
    assert str(caught.value) == (
        "baseline b.json is not comparable: attack, baselines differ; make the baseline with the "
        "same policy (probes, generator, attack) on the base branch"
    )
