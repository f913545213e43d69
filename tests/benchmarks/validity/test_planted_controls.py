"""The controls' re-check reads the real gates: the largest low end per figure, a failed run."""

from __future__ import annotations

from pathlib import Path

import pytest

from benchmarks.validity import planted_controls as pc


def gate(name: str, low: float) -> dict:
    return {"gate": name, "low": low, "status": "pass"}


def test_largest_low_end_per_figure_names_its_attribute() -> None:
    gates = [
        gate("weighted_sensitivity[Mustache]", 0.012),
        gate("weighted_sensitivity[Pale_Skin]", 0.021),
        gate("sensitivity s[Smiling]", 0.160),
        gate("sensitivity s[Young]", 0.171),
        gate("sdar(s)", 0.9),
    ]
    assert pc.largest_low(gates, "weighted_sensitivity[") == ("Pale_Skin", 0.021)
    assert pc.largest_low(gates, "sensitivity s[") == ("Young", 0.171)
    name, low = pc.largest_low(gates, "attribute_effect[")
    assert name == "-" and low != low  # no such gate: NaN, not a made-up 0


def test_a_run_that_cannot_audit_stops_with_its_reason(tmp_path: Path) -> None:
    model = tmp_path / "broken.pt"
    model.write_bytes(b"not a model")
    with pytest.raises(SystemExit, match="broken.pt: sia-audit run exited 2"):
        pc.audit(model, threads=1)
    assert not (tmp_path / "broken.report" / "report.json").exists()


def test_a_plant_is_caught_by_a_failed_gate_on_its_own_attribute_only() -> None:
    gates = [
        {"gate": "weighted_sensitivity[Mustache]", "low": 0.04, "status": "pass"},
        {"gate": "sensitivity s[Mustache]", "low": 0.25, "status": "fail"},
        {"gate": "weighted_sensitivity[Bangs]", "low": 0.3, "status": "fail"},
    ]
    w, s, hit = pc.caught_by(gates, "Mustache")
    assert (w["status"], s["status"], hit) == ("pass", "fail", True)
    # Another attribute's failure is not a catch of this plant; an ungated one is no catch.
    assert pc.caught_by(gates[:1] + gates[2:], "Mustache")[2] is False
    assert pc.caught_by(gates, "Young") == ({}, {}, False)
