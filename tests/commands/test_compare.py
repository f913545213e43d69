"""Regression gates: run --baseline and compare, paired on the shared probes."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from sia_audit.cli import cli
from sia_audit.report_schema import ProbesBlock
from tests.commands.test_run import BASE, TARGET, write

POLICY = BASE + (
    "gates:\n  regression: {sdar_increase: 0.01, sensitivity_increase: 0.01,"
    " weighted_increase: 0.01, attack_success_rate_increase: 0.0, clean_accuracy_decrease: 0.0,"
    " use_confidence: false}\n"
)


FIXED = Path(__file__).parents[1] / "formats" / "data" / "report.json"


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


@pytest.fixture(scope="module")
def base_report(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("base")
    policy = write(tmp, POLICY)
    result = invoke("run", TARGET, "--policy", str(policy), "--out", str(tmp / "rep"), "--quiet")
    assert result.exit_code == 0, result.output  # no baseline: regression is a reasoned skip
    report = json.loads((tmp / "rep" / "report.json").read_text())
    assert report["gates"][0]["status"] == "skipped"
    # A fresh report saves every per-probe field the schema reads (w's inputs included).
    assert set(report["probes"]) == {f.name for f in dataclasses.fields(ProbesBlock)}
    return tmp / "rep" / "report.json"


def test_same_model_against_its_baseline_passes(base_report: Path, tmp_path: Path) -> None:
    policy = write(tmp_path, POLICY)
    out = tmp_path / "head"
    result = invoke(
        "run",
        TARGET,
        "--policy",
        str(policy),
        "--out",
        str(out),
        "--baseline",
        str(base_report),
        "--quiet",
    )
    assert result.exit_code == 0, result.output
    gates = json.loads((out / "report.json").read_text())["gates"]
    assert {g["gate"] for g in gates} >= {
        "regression sdar(s)",
        "regression s[Mustache]",
        "regression w[Mustache]",
    }
    # `all` compares every measurable attribute; those the generator cannot draw are skipped.
    skipped = {g["gate"] for g in gates if g["status"] == "skipped"}
    assert skipped == {"regression w[Young]", "regression s[Young]"}
    assert all(g["status"] == "pass" for g in gates if g["gate"] not in skipped)
    again = invoke("compare", str(base_report), str(out / "report.json"), "--policy", str(policy))
    assert again.exit_code == 0, again.output


def test_compare_flags_a_sensitivity_regression(base_report: Path, tmp_path: Path) -> None:
    calm = json.loads(base_report.read_text())
    calm["probes"]["delta"] = [[0.0] * len(row) for row in calm["probes"]["delta"]]
    calm_path = tmp_path / "calm.json"
    calm_path.write_text(json.dumps(calm))
    result = invoke(
        "compare", str(calm_path), str(base_report), "--policy", str(write(tmp_path, POLICY))
    )
    assert result.exit_code == 1
    failed = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert failed and all("more than the allowance 0.01" in line for line in failed)
    assert any("regression s[Mustache]" in line for line in failed), result.stdout


def test_compare_flags_a_weighted_regression_that_s_does_not_see(
    base_report: Path, tmp_path: Path
) -> None:
    """The head's loss rides on the moustache more (its effect column is larger) while the
    attack moves every attribute as far as before: w rises, s does not."""
    head = json.loads(base_report.read_text())
    j = head["probes"]["attributes"].index("Mustache")
    rise = [
        adv - start
        for adv, start in zip(
            head["probes"]["loss_adversary"], head["probes"]["loss_start"], strict=True
        )
    ]
    mean_rise = sum(rise) / len(rise)
    assert mean_rise > 0
    for row in head["probes"]["effects"]:
        row[j] += mean_rise  # the whole mean rise more rides on it: w grows by s[Mustache]
    head_path = tmp_path / "head.json"
    head_path.write_text(json.dumps(head))
    policy = str(write(tmp_path, POLICY))
    result = invoke("compare", str(base_report), str(head_path), "--policy", policy)
    assert result.exit_code == 1, result.output
    failed = [line for line in result.stdout.splitlines() if line.startswith("FAIL")]
    assert failed and all("regression w[Mustache]" in line for line in failed), result.stdout


def test_a_report_without_per_probe_effects_skips_the_w_regression(
    base_report: Path, tmp_path: Path
) -> None:
    old = json.loads(base_report.read_text())
    del old["probes"]["effects"], old["probes"]["loss_start"]  # as reports before them
    old_path = tmp_path / "old.json"
    old_path.write_text(json.dumps(old))
    policy = str(write(tmp_path, POLICY))
    result = invoke("compare", str(old_path), str(base_report), "--policy", policy)
    assert result.exit_code == 0, result.output
    assert "regression w[Mustache]" in result.output
    assert "the baseline report holds no per-probe attribute effects" in result.output
    old["probes"]["effects"] = old["probes"]["delta"][:-1]  # one row short
    old_path.write_text(json.dumps(old))
    broken = invoke("compare", str(old_path), str(base_report), "--policy", policy)
    last = broken.stderr.strip().splitlines()[-1]
    assert broken.exit_code == 2 and "probes.effects" in last


def test_incomparable_baseline_is_refused(base_report: Path, tmp_path: Path) -> None:
    other = json.loads(base_report.read_text())
    other["provenance"]["probe_manifest_sha256"] = "0" * 64
    other_path = tmp_path / "other.json"
    other_path.write_text(json.dumps(other))
    result = invoke(
        "compare", str(other_path), str(base_report), "--policy", str(write(tmp_path, POLICY))
    )
    assert result.exit_code == 2 and "probe_manifest_sha256" in result.stderr


def with_nan() -> str:
    """The fixed report with a NaN among its per-probe values (Python's json writes it)."""
    report = json.loads(FIXED.read_text())
    report["probes"]["loss_adversary"][1] = float("nan")
    return json.dumps(report)


@pytest.mark.parametrize(
    "content", ["not json", '{"schema_version": 9}', "[]", "nan"], ids=str.split
)
def test_broken_baseline_is_one_line_exit_2(tmp_path: Path, content: str) -> None:
    """Before the audit, not after it: a NaN is refused when the baseline is read."""
    bad = tmp_path / "bad.json"
    bad.write_text(with_nan() if content == "nan" else content)
    out = tmp_path / "rep"
    result = invoke(
        "run",
        TARGET,
        "--policy",
        str(write(tmp_path, POLICY)),
        "--out",
        str(out),
        "--baseline",
        str(bad),
        "--quiet",
    )
    assert result.exit_code == 2 and "baseline" in result.stderr.strip().splitlines()[-1]
    assert not (out / "report.json").exists()


def test_compare_reads_saved_reports_through_the_schema_alone(tmp_path: Path) -> None:
    """No audit: the fixed report against itself passes; against a copy whose attributes moved
    three times as far it fails; a damaged copy is one line naming the key, exit 2."""
    policy = str(write(tmp_path, POLICY))
    same = invoke("compare", str(FIXED), str(FIXED), "--policy", policy)
    assert same.exit_code == 0, same.output
    worse = json.loads(FIXED.read_text())
    worse["probes"]["delta"] = [[3 * v for v in row] for row in worse["probes"]["delta"]]
    worse_path = tmp_path / "worse.json"
    worse_path.write_text(json.dumps(worse))
    result = invoke("compare", str(FIXED), str(worse_path), "--policy", policy)
    assert result.exit_code == 1 and "regression s[Mustache]" in result.stdout
    del worse["probes"]["correct_adversary"]
    worse_path.write_text(json.dumps(worse))
    broken = invoke("compare", str(FIXED), str(worse_path), "--policy", policy)
    last = broken.stderr.strip().splitlines()[-1]
    assert broken.exit_code == 2 and "probes.correct_adversary: missing" in last


@pytest.mark.parametrize("side", ["base", "head"])
def test_compare_refuses_nan_in_either_report(tmp_path: Path, side: str) -> None:
    nan = tmp_path / "nan.json"
    nan.write_text(with_nan())
    base, head = (nan, FIXED) if side == "base" else (FIXED, nan)
    result = invoke("compare", str(base), str(head), "--policy", str(write(tmp_path, POLICY)))
    lines = result.stderr.strip().splitlines()
    assert result.exit_code == 2 and len(lines) == 1, result.output
    assert "probes.loss_adversary[1] is nan" in lines[0] and str(nan) in lines[0]


def _raised(report: dict, name: str, by: float) -> dict:
    """The report with every probe's change of `name` larger by `by` in size: s[name] + by."""
    j = report["probes"]["attributes"].index(name)
    for row in report["probes"]["delta"]:
        row[j] = row[j] + by if row[j] >= 0 else row[j] - by
    return report


@pytest.mark.parametrize(
    ("capability", "code"),
    [("AVX512", 1), ("DEFAULT", 0)],
    ids=["same-arithmetic", "other-kernels"],
)
def test_a_rise_within_rounding_noise_fails_only_with_the_same_arithmetic(
    base_report: Path, tmp_path: Path, capability: str, code: int
) -> None:
    base = json.loads(base_report.read_text())
    base["provenance"]["cpu_capability"] = "AVX512"
    head = _raised(json.loads(json.dumps(base)), "Mustache", 0.015)
    head["provenance"]["cpu_capability"] = capability
    paths = []
    for name, report in (("base.json", base), ("head.json", head)):
        paths.append(tmp_path / name)
        paths[-1].write_text(json.dumps(report))
    policy = write(tmp_path, POLICY)  # sensitivity_increase 0.01, no intervals
    result = invoke("compare", str(paths[0]), str(paths[1]), "--policy", str(policy))
    assert result.exit_code == code, result.output
    if code:  # bit-identical arithmetic: a rise of 0.015 is a real change
        assert "regression s[Mustache] = +0.015" in result.stdout
    else:  # other kernels move s by up to 0.0154 (docs/figures-travel.md)
        assert "rounding floor 0.02" in result.output
        assert "cpu_capability AVX512 -> DEFAULT" in result.output
