"""Calibration picks the largest trusted figure that the gate itself would compare.

On reports whose figures are set by hand: the low end with use_confidence, the value without;
s or h as the gate reads; only the gate's measurable attributes; the first report on a tie.
"""

from __future__ import annotations

import pytest
import yaml

from sia_audit.errors import DataError, UsageError
from sia_audit.gates.calibrate import Calibrated, as_yaml, calibrate
from sia_audit.policy.loading import _Loader
from sia_audit.policy.models import Policy
from sia_audit.report_schema import ReportRecord
from tests.commands.test_calibrate import est, report


def trusted(
    s: dict[str, tuple[float, float]],
    sdar: tuple[float, float] = (0.25, 0.125),
    unmeasurable: tuple[str, ...] = (),
) -> ReportRecord:
    """The fixed report with s (and h, twice s) of the named attributes set to (value, low),
    every other attribute's at 0, SDAR of s `sdar` and of h twice that."""
    d = report(0.0)
    sens = d["figures"]["sensitivity"]
    for name in sens["s"]:
        value, low = s.get(name, (0.0, 0.0))
        sens["s"][name] = est(value, low, value + 0.25)
        sens["h"][name] = est(2 * value, 2 * low, 2 * value + 0.25)
    sens["sdar_s"] = est(sdar[0], sdar[1], sdar[0] + 0.25)
    sens["sdar_h"] = est(2 * sdar[0], 2 * sdar[1], 2 * sdar[0] + 0.25)
    sens["unmeasurable"] = list(unmeasurable)
    return ReportRecord(d)


def policy(gates: str, protected: str = "[Mustache, Male]") -> Policy:
    text = f"version: 1\nprotected: {protected}\n{gates}"
    return Policy.model_validate(yaml.load(text, Loader=_Loader))  # `on:` is a key, not true


def rows(p: Policy, *reports: ReportRecord) -> list[tuple]:
    named = [(f"r{i}", r) for i, r in enumerate(reports)]
    return [(c.gate, c.largest, c.report, c.attribute, c.margin, c.use_confidence)
            for c in calibrate(p, named)]  # fmt: skip


def test_the_low_end_with_confidence_the_value_without() -> None:
    a = trusted({"Bald": (0.5, 0.125), "Bangs": (0.375, 0.25)}, sdar=(0.5, 0.125))
    b = trusted({"Bald": (0.25, 0.0), "Bangs": (0.25, 0.1875)}, sdar=(0.25, 0.1875))
    sure = policy("gates:\n  sensitivity: {max: 1, attributes: all, use_confidence: true}\n"
                  "  sdar: {max: 1, use_confidence: true}\n")  # fmt: skip
    assert rows(sure, a, b) == [("sensitivity", 0.25, "r0", "Bangs", 0.11, True),
                                ("sdar", 0.1875, "r1", None, 0.02, True)]  # fmt: skip
    plain = policy("gates:\n  sensitivity: {max: 1, attributes: all}\n  sdar: {max: 1}\n")
    assert rows(plain, a, b) == [("sensitivity", 0.5, "r0", "Bald", 0.11, False),
                                 ("sdar", 0.5, "r0", None, 0.02, False)]  # fmt: skip


def test_a_tie_keeps_the_first_report_and_attribute() -> None:
    a = trusted({"Bald": (0.25, 0.0), "Bangs": (0.25, 0.0)})
    b = trusted({"Bald": (0.25, 0.0)})
    p = policy("gates:\n  sensitivity: {max: 1, attributes: all}\n  sdar: {max: 1}\n")
    assert rows(p, a, b) == [("sensitivity", 0.25, "r0", "Bald", 0.11, False),
                             ("sdar", 0.25, "r0", None, 0.02, False)]  # fmt: skip


def test_h_and_sdar_of_h_when_the_gate_reads_them() -> None:
    a = trusted({"Bald": (0.25, 0.125)}, sdar=(0.25, 0.125))
    p = policy("gates:\n  sensitivity: {max: 1, attributes: all, normalised: true}\n"
               "  sdar: {max: 1, on: h}\n")  # fmt: skip
    assert rows(p, a) == [("sensitivity", 0.5, "r0", "Bald", 0.11, False),
                          ("sdar", 0.5, "r0", None, 0.02, False)]  # fmt: skip


def test_only_the_gates_measurable_attributes_count() -> None:
    a = trusted({"Bald": (0.75, 0.5), "Mustache": (0.5, 0.25), "Male": (0.25, 0.125)},
                unmeasurable=("Mustache",))  # fmt: skip
    protected = policy("gates:\n  sensitivity: {max: 1, attributes: protected}\n")
    assert rows(protected, a) == [("sensitivity", 0.25, "r0", "Male", 0.11, False)]
    listed = policy("gates:\n  sensitivity: {max: 1, attributes: [Mustache, Bald]}\n")
    assert rows(listed, a) == [("sensitivity", 0.75, "r0", "Bald", 0.11, False)]
    only_unmeasurable = policy("gates:\n  sensitivity: {max: 1, attributes: [Mustache]}\n")
    assert rows(only_unmeasurable, a) == []


def test_a_report_without_the_figure_or_no_report_is_refused() -> None:
    p = policy("gates:\n  weighted_sensitivity: {max: 1, attributes: all}\n")
    with pytest.raises(DataError) as caught:
        calibrate(p, [("old.json", trusted({}))])
    assert str(caught.value) == "old.json holds no w: re-run it with this sia-audit"
    with pytest.raises(UsageError) as caught:
        calibrate(p, [])
    assert str(caught.value) == "calibrate needs the report.json of at least one trusted model"


def test_reports_of_other_setups_are_refused_naming_every_difference() -> None:
    a, b = report(0.0), report(0.0)
    b["provenance"]["generator_sha256"] = "0" * 64
    b["provenance"]["probe_manifest_sha256"] = "1" * 64
    with pytest.raises(DataError) as caught:
        calibrate(policy("gates:\n  sdar: {max: 1}\n"), [("a", ReportRecord(a)),
                                                         ("b", ReportRecord(b))])  # fmt: skip
    assert str(caught.value) == (
        "b is not comparable with a: probe_manifest_sha256, generator_sha256 differ; audit "
        "every trusted model with the same policy (probes, generator, attack)"
    )


def test_the_fragment_says_where_each_ceiling_comes_from() -> None:
    p = policy("gates:\n  sensitivity: {max: 1, attributes: protected, use_confidence: true}\n"
               "  flip_rate: {max: 1, attributes: [Mustache, Bald]}\n"
               "  sdar: {max: 1, on: h}\n")  # fmt: skip
    got = as_yaml(p, [
        Calibrated("sensitivity", 0.25, "a.json", "Male", 0.04, True),
        Calibrated("flip_rate", 0.125, "b.json", "Bald", 0.03, False),
        Calibrated("sdar", 0.5, "c.json", None, 0.02, False),
    ])  # fmt: skip
    assert got == (
        "gates:\n"
        "  sensitivity: {max: 0.29, attributes: protected, use_confidence: true}  # largest low "
        "end 0.2500 (a.json, Male) + 0.04\n"
        "  flip_rate: {max: 0.155, attributes: [Mustache, Bald], use_confidence: false}  # "
        "largest value 0.1250 (b.json, Bald) + 0.03\n"
        "  sdar: {max: 0.52, on: h, use_confidence: false}  # largest value 0.5000 (c.json) "
        "+ 0.02\n"
    )


def test_each_gate_has_its_own_margin() -> None:
    """The margins (how far the largest low end moved between two seeds, docs/validity.md)."""
    d = report(0.0)
    figs = d["figures"]
    names = figs["sensitivity"]["attributes"]
    block = {a: est(0.25, 0.125, 0.375) for a in names}
    figs["weighted_sensitivity"] = {"n": 6, "attributes": names, "excluded": [], "w": block}
    figs["attribute_effect"]["effect"] = block
    figs["path_attribution"] = {
        "n": 6,
        "attributes": names,
        "excluded": [],
        "path": block,
        "share": block,
        "image": est(0.5, 0.25, 0.75),
        "image_share": est(0.5, 0.25, 0.75),
        "total": est(1, 1, 1),
    }
    gates = "".join(
        f"  {g}: {{max: 1, attributes: all}}\n"
        for g in (
            "weighted_sensitivity",
            "sensitivity",
            "flip_rate",
            "attribute_effect",
            "path_share",
        )
    )
    p = policy("gates:\n" + gates + "  sdar: {max: 1}\n")
    margins = {c.gate: c.margin for c in calibrate(p, [("r", ReportRecord(d))])}
    assert margins == {"weighted_sensitivity": 0.04, "sensitivity": 0.11, "flip_rate": 0.05,
                       "attribute_effect": 0.1, "path_share": 0.03, "sdar": 0.02}  # fmt: skip
    mine = calibrate(p, [("r", ReportRecord(d))], {"sdar": 0.5})
    assert {c.gate: c.margin for c in mine}["sdar"] == 0.5


def test_a_ceiling_on_h_stays_on_h_when_pasted() -> None:
    """A ceiling calibrated on the normalised sensitivity must not be pasted as one on s."""
    p = policy("gates:\n  sensitivity: {max: 1, normalised: true, attributes: all}\n")
    got = as_yaml(p, [Calibrated("sensitivity", 0.5, "a.json", "Male", 0.04, True)])
    line = got.splitlines()[1]
    assert line.startswith("  sensitivity: {max: 0.54, normalised: true, attributes: all,")
    pasted = policy(got)
    assert pasted.gates.sensitivity is not None and pasted.gates.sensitivity.normalised
