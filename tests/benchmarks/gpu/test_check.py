"""The GPU check (benchmarks/gpu/check.sh): its dry run, its rules, its budgets.

No GPU is at hand here, so the suite runs the check's `--dry-run` (the same code on the CPU at
toy sizes) through the shell entry point and reads the JSON it writes; the comparison rules and
the time budgets are tested on hand-made reports and a sleeping item.
"""

from __future__ import annotations

import copy
import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from benchmarks import paths
from benchmarks.gpu import check as gpu_check
from benchmarks.gpu.budget import Recorder, Section, Skip
from benchmarks.gpu.compare import TOLERANCES, compare_reports, report_differences


@pytest.fixture(scope="module")
def dry_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess, dict]:
    out = tmp_path_factory.mktemp("gpu_check")
    env = {**os.environ, "PYTHON": sys.executable, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        ["bash", str(paths.ROOT / "benchmarks" / "gpu" / "check.sh"), str(out), "--dry-run"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert (out / "gpu_check.json").is_file(), done.stderr[-3000:]
    assert "== distributed" in (out / "gpu_check.log").read_text()
    return done, json.loads((out / "gpu_check.json").read_text())


def items(data: dict, section: str) -> dict[str, Any]:
    return data["sections"][section]["items"]


def numbers(value: Any) -> list[float]:
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return []
    if isinstance(value, int | float):
        return [float(value)]
    if isinstance(value, dict):
        return [n for v in value.values() for n in numbers(v)]
    return [n for v in value for n in numbers(v)]


def test_dry_run_finishes_every_section_and_exits_0(dry_run) -> None:
    done, data = dry_run
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert data["format_version"] == 1
    assert data["meta"]["mode"] == "dry-run" and data["meta"]["measured_on_gpu"] is False
    assert list(data["sections"]) == ["correctness", "throughput", "distributed"]
    for section in data["sections"].values():
        assert section["status"] == "done"
        assert section["budget_s"] > 0 and section["seconds"] >= 0
    summary = data["summary"]
    assert summary["completed"] and summary["correctness_ok"] is True
    assert summary["failed"] == summary["errors"] == summary["stopped"] == []
    assert all(math.isfinite(n) for n in numbers(data))


def test_dry_run_compares_the_device_run_with_the_cpu_bit_for_bit(dry_run) -> None:
    got = items(dry_run[1], "correctness")
    assert got["reference_cpu"]["status"] == "ok"
    for name in ("device", "device_repeat"):
        assert got[name]["status"] == "ok" and got[name]["bit_equal"] is True
        assert got[name]["tolerance"]["name"] == "exact"
        assert got[name]["comparison"]["checks"] > 40  # every s, effect, accuracy, gate...
    assert got["bf16"]["tolerance"]["name"] == "bf16" and got["bf16"]["comparison"]["checks"] > 40
    for name in ("compile", "cuda_graphs"):  # CUDA-only: recorded, not silently left out
        assert got[name]["status"] == "skipped" and "CUDA" in got[name]["reason"]


def test_dry_run_measures_rates_and_projects_the_paper_audit(dry_run) -> None:
    got = items(dry_run[1], "throughput")
    assert got["setup"]["gflop_per_probe_step"] > 0
    for precision in ("fp32", "bf16"):
        for batch in (2, 4):
            entry = got[f"eager_{precision}_b{batch}"]
            assert entry["status"] == "ok" and entry["probe_steps_per_s"] > 0
            assert entry["peak_gpu_memory_gib"] is None  # no GPU: no figure, not a zero
        assert got[f"audit_batch_{precision}"]["projected_minutes_10000x200"] > 0
        assert got[f"compiled_{precision}"]["status"] == "skipped"
    projection = dry_run[1]["sections"]["throughput"]["summary"]["projection_10000x200"]
    assert set(projection["whole_audit_minutes"]) == {"fp32", "bf16"}
    assert projection["goal_met"] in (True, False)


def test_dry_run_torchrun_report_equals_the_single_process_one(dry_run) -> None:
    got = items(dry_run[1], "distributed")
    assert got["collectives"]["backend"] == "gloo"
    assert got["collectives"]["two_ranks_on_one_device"] is True
    assert got["torchrun_gloo"]["status"] == "ok" and got["torchrun_gloo"]["ranks"] == 2
    assert got["torchrun_gloo"]["bit_equal"] is True
    assert got["torchrun_nccl"]["status"] == "skipped"


def estimate(value: float, n: int = 64) -> dict[str, Any]:
    return {"value": value, "low": value - 0.05, "high": value + 0.05, "n": n, "level": 0.95}


def report() -> dict[str, Any]:
    """A small report.json dict with every block the comparison reads."""
    s = {"Mustache": 0.58, "Male": 0.30, "Smiling": 0.29, "Bangs": 0.10}
    sens = {"s": {a: estimate(v) for a, v in s.items()}, "sdar_s": estimate(0.17)}
    return {
        "verdict": "fail",
        "gates": [
            {"gate": "sensitivity s[Mustache]", "status": "fail"},
            {"gate": "sdar(s)", "status": "pass"},
        ],
        "figures": {
            "clean_accuracy": estimate(1.0),
            "reconstruction_accuracy": estimate(0.97),
            "sensitivity": sens,
            "subpopulations": {
                "Male": {"in_group": {"sensitivity": copy.deepcopy(sens)}, "out_group": {}}
            },
            "attribute_effect": {"effect": {a: estimate(v / 4) for a, v in s.items()}},
            "attacks": {
                "full": {
                    "attack_success_rate": estimate(0.5, n=50),
                    "psnr_x0": estimate(31.0),
                    "ssim_x0": estimate(0.95),
                }
            },
        },
        "probes": {"delta": [[0.1, 0.2], [0.3, 0.4]]},
        "provenance": {"device": "cpu", "ranks": 1},
        "timings": {"wall": 1.0},
    }


def failed(checks: list) -> list[str]:
    return [c.figure for c in checks if not c.ok]


def test_identical_reports_pass_every_tolerance() -> None:
    for tolerance in TOLERANCES.values():
        checks = compare_reports(report(), report(), tolerance)
        assert len(checks) > 20 and failed(checks) == []


@pytest.mark.parametrize(
    ("change", "tolerance", "expected"),
    [
        (0.03, "float", ["Male.in_group.s[Mustache]", "s[Mustache]"]),  # past 0.02
        (0.01, "float", []),
        (0.03, "bf16", []),  # bf16 allows 0.05
        (1e-6, "exact", ["Male.in_group.s[Mustache]", "s[Mustache]"]),
    ],
)
def test_a_moved_sensitivity_fails_past_its_tolerance(change, tolerance, expected) -> None:
    other = report()
    for sens in (
        other["figures"]["sensitivity"],
        other["figures"]["subpopulations"]["Male"]["in_group"]["sensitivity"],
    ):
        sens["s"]["Mustache"]["value"] += change
    assert failed(compare_reports(report(), other, TOLERANCES[tolerance])) == expected


def test_a_different_verdict_gate_or_order_fails_even_with_close_figures() -> None:
    other = report()
    other["verdict"] = "pass"
    other["gates"][0]["status"] = "pass"
    # Male and Smiling are 0.01 apart (a tie within 0.04); Mustache leads Male by 0.28.
    other["figures"]["sensitivity"]["s"]["Male"]["value"] = 0.29
    other["figures"]["sensitivity"]["s"]["Smiling"]["value"] = 0.30
    assert failed(compare_reports(report(), other, TOLERANCES["float"])) == [
        "verdict",
        "gate sensitivity s[Mustache]",
    ]
    other = report()
    other["figures"]["sensitivity"]["s"]["Bangs"]["value"] = 0.7  # now above Mustache
    assert "ranks of s" in failed(compare_reports(report(), other, TOLERANCES["bf16"]))


def test_accuracies_may_move_by_the_allowed_probes_only() -> None:
    other = report()
    other["figures"]["attacks"]["full"]["attack_success_rate"]["value"] = 0.5 + 2 / 50
    assert failed(compare_reports(report(), other, TOLERANCES["float"])) == []
    other["figures"]["attacks"]["full"]["attack_success_rate"]["value"] = 0.5 + 3 / 50
    assert failed(compare_reports(report(), other, TOLERANCES["float"])) == [
        "full.attack_success_rate"
    ]


def test_a_figure_missing_from_one_report_fails() -> None:
    other = report()
    del other["figures"]["attacks"]["full"]["psnr_x0"]
    assert failed(compare_reports(report(), other, TOLERANCES["float"])) == ["full.psnr_x0"]


def test_report_differences_ignore_where_and_when_only() -> None:
    other = report()
    other["timings"]["wall"] = 9.0
    other["provenance"].update(device="cuda:0", ranks=2)
    assert report_differences(report(), other) == []
    other["probes"]["delta"][1][0] = 0.30000001
    other["verdict"] = "pass"
    assert report_differences(report(), other) == [
        "probes.delta.1.0: 0.3 vs 0.30000001",
        "verdict: 'fail' vs 'pass'",
    ]


def test_a_section_stops_an_item_at_its_budget_and_still_writes_the_json(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path, {"mode": "test"})
    section = Section(recorder, "slow", budget=0.3, carried=0.0)

    def sleeps() -> dict[str, Any]:
        while True:
            time.sleep(0.01)

    def cuda_only() -> dict[str, Any]:
        raise Skip("needs CUDA")

    assert section.item("quick", lambda: {"value": 1.5}) is not None
    assert section.item("too_big", lambda: {}, need=60) is None
    assert section.item("cuda", cuda_only) is None
    started = time.monotonic()
    assert section.item("sleeps", sleeps) is None
    assert time.monotonic() - started < 2
    assert section.item("after", lambda: {"value": 2.0}) is None
    section.close()
    recorder.close()
    saved = json.loads((tmp_path / "gpu_check.json").read_text())["sections"]["slow"]
    assert saved["status"] == "stopped"
    assert {k: v["status"] for k, v in saved["items"].items()} == {
        "quick": "ok",
        "too_big": "skipped",
        "cuda": "skipped",
        "sleeps": "stopped",
        "after": "skipped",
    }
    assert saved["items"]["cuda"]["reason"] == "needs CUDA"


def test_a_missing_package_is_one_line_and_exit_2(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setattr(gpu_check, "REQUIRED", {"json": "json", "no_such_module_x": "no-such-x"})
    assert gpu_check.main(["--out", str(tmp_path / "out"), "--dry-run"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no-such-x" in err and "--fetch-wheels" in err
