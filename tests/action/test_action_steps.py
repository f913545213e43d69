"""The composite action, run locally on the demo models: summary, outputs, and when it fails.

One real audit per model (json+md only: no PDF): the control under the shipped fairness
policy (~40 s on 2 cores) must pass; the biased model under a small policy it violates by
construction (~5 s) must fail the job (the shipped policy's verdict on it is the demo test's).
The ONNX exports go along, so the same runs cover `run --onnx` and the report's onnx block. The
runs are the session fixtures of tests/conftest.py, shared with
tests/commands/test_demo_models.py.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from tests.action.harness import FAIRNESS, ActionRun, run_action


@pytest.fixture
def biased(action_biased: tuple[ActionRun, Path]) -> tuple[ActionRun, Path]:
    return action_biased


@pytest.fixture
def control(action_control: tuple[ActionRun, Path]) -> tuple[ActionRun, Path]:
    return action_control


def test_the_biased_model_fails_the_job(biased) -> None:
    run, work = biased
    assert run.outputs["verdict"] == "fail" and run.outputs["exit-code"] == "1"
    assert run.failed_step == "Fail on a policy violation"
    assert "## sia-audit: FAILED" in run.summary
    assert "Upload the reports" in run.not_run  # attempted even though a gate failed


def test_the_control_passes(control) -> None:
    run, work = control
    assert run.failed_step is None
    assert run.outputs["verdict"] == "pass" and run.outputs["exit-code"] == "0"
    assert "## sia-audit: PASSED" in run.summary
    assert run.skipped == ["Fail on a policy violation"]


@pytest.mark.parametrize("which", ["biased", "control"])
def test_outputs_name_the_written_reports(which: str, request: pytest.FixtureRequest) -> None:
    run, work = request.getfixturevalue(which)
    assert run.outputs["report-json"] == "report/report.json"
    assert run.outputs["summary"] == "report/summary.md"
    assert run.outputs["report-pdf"] == ""  # --format json,md: no PDF was asked for
    assert (work / run.outputs["report-json"]).is_file()


@pytest.mark.parametrize("which", ["biased", "control"])
def test_the_onnx_export_is_checked_in_the_same_run(
    which: str, request: pytest.FixtureRequest
) -> None:
    run, work = request.getfixturevalue(which)
    report = json.loads((work / "report" / "report.json").read_text())
    parity = report["onnx"]["parity"]
    assert parity["agreement"]["value"] == 1.0 and parity["max_abs_diff"] < 1e-4
    assert "ONNX export" in run.summary


def test_a_violation_can_be_reported_without_failing_the_job(biased, tmp_path: Path) -> None:
    """fail-on-violation false: same verdict, the job goes on (checked without a new audit)."""
    run, work = biased
    from tests.action.harness import Context, load_action

    step = next(s for s in load_action()["runs"]["steps"] if s["name"].startswith("Fail"))
    ctx = Context({"fail-on-violation": "false"})
    ctx.steps["audit"] = {"verdict": run.outputs["verdict"]}
    assert not ctx.condition(step["if"])
    ctx.inputs["fail-on-violation"] = "true"
    assert ctx.condition(step["if"])


def test_a_bad_input_fails_the_audit_step_in_seconds(tmp_path: Path) -> None:
    run = run_action({"model": "--allow-code", "policy": str(FAIRNESS)}, tmp_path)
    assert run.failed_step == "Run sia-audit"
    assert run.outputs["verdict"] == "error" and run.outputs["exit-code"] == "2"
    assert "could not run" in run.summary
    assert "Upload the reports" in run.skipped


def test_an_internal_error_is_an_error_not_a_failed_gate(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A crash of the tool (exit 3) must not read as verdict=fail: inject one into the run."""
    inject = tmp_path / "inject"
    inject.mkdir()
    # Python imports sitecustomize from PYTHONPATH at start-up: the policy parser now crashes.
    (inject / "sitecustomize.py").write_text(
        "import yaml\n\n\ndef crash(*args, **kwargs):\n    raise RuntimeError('injected')\n\n\n"
        "yaml.compose = crash\n"
    )
    path = os.environ.get("PYTHONPATH", "")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(p for p in (str(inject), path) if p))
    work = tmp_path / "work"
    work.mkdir()
    model = str(Path(FAIRNESS).parents[1] / "examples" / "models" / "eyeglasses_control.pt")
    run = run_action({"model": model, "policy": str(FAIRNESS)}, work)
    assert run.outputs["verdict"] == "error" and run.outputs["exit-code"] == "3"
    assert run.failed_step == "Run sia-audit"
    assert "could not run (exit 3)" in run.summary
    assert "Fail on a policy violation" in run.skipped
