"""The report's optional `onnx` block is shown in summary.md and report.html when present."""

from __future__ import annotations

import json
from pathlib import Path

from sia_audit.formats import html, markdown
from sia_audit.formats.interface import Report
from sia_audit.formats.views import build

SAVED = Path(__file__).resolve().parents[1] / "formats" / "data" / "report.json"
BLOCK = {
    "model": "model.onnx",
    "sha256": "ab" * 32,
    "provider": "CPUExecutionProvider",
    "onnxruntime_version": "1.31.1",
    "clean_accuracy": {
        "value": 0.984,
        "low": 0.953,
        "high": 1.0,
        "n": 64,
        "level": 0.95,
        "definition": "Accuracy on the clean images x0, run by ONNX Runtime",
    },
    "parity": {
        "max_abs_diff": 1.9e-06,
        "torch_target": "model.pt",
        "agreement": {
            "value": 1.0,
            "low": 1.0,
            "high": 1.0,
            "n": 64,
            "level": 0.95,
            "definition": "Agreement",
        },
    },
}


def report(with_onnx: bool) -> Report:
    data = json.loads(SAVED.read_text())
    if with_onnx:
        data["onnx"] = BLOCK
    return Report(data, json.dumps(data).encode(), ("report.json", "summary.md"))


def test_summary_and_html_show_the_onnx_figures() -> None:
    md = markdown.render(report(True)).decode()
    assert "ONNX export `model.onnx`: clean accuracy 0.984 [0.953, 1.000]" in md
    assert "max abs output difference 1.9e-06" in md
    page = html.render(report(True)).decode()
    assert 'id="onnx"' in page and "ONNX Runtime 1.31.1, CPUExecutionProvider" in page


def test_reports_without_the_block_are_unchanged() -> None:
    assert build(report(False).data).onnx is None
    assert "ONNX" not in markdown.render(report(False)).decode()
    assert 'id="onnx"' not in html.render(report(False)).decode()
