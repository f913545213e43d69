"""`compare --out`: a comparison of two reports as comparison.json and as summary.md, the text
of a pull-request comment. Torch-free, like every format: it reads the verdicts as saved."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import sia_audit
from sia_audit.formats.templating import markdown_environment
from sia_audit.formats.views import gate_counts, gate_row
from sia_audit.report_schema import GateRecord, ReportRecord

FORMAT = "sia-audit-comparison"
FORMAT_VERSION = 1
JSON_FILE = "comparison.json"
SUMMARY_FILE = "summary.md"


def _side(path: Path, report: ReportRecord, sha256: str) -> dict[str, Any]:
    prov = report.provenance
    return {
        "report": str(path),
        "report_sha256": sha256,
        "target": prov.target,
        "target_sha256": prov.target_sha256,
        "verdict": report.verdict,
    }


def comparison_dict(
    verdicts: Sequence[Any],  # results.GateVerdict (a dataclass)
    passed: bool,
    base: tuple[Path, ReportRecord, str],
    head: tuple[Path, ReportRecord, str],
    policy: tuple[Path, str],
) -> dict[str, Any]:
    """What comparison.json holds: the verdict, every regression gate as saved in a report's
    `gates` block, and which reports and policy were compared (paths and sha256)."""
    gates = [dataclasses.asdict(v) for v in verdicts]
    return {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "tool_version": sia_audit.__version__,
        "verdict": "pass" if passed else "fail",
        "counts": gate_counts(g["status"] for g in gates),
        "baseline": _side(*base),
        "head": _side(*head),
        "policy": {"path": str(policy[0]), "sha256": policy[1]},
        "gates": gates,
    }


def summary_markdown(data: dict[str, Any]) -> str:
    """summary.md of a comparison: the verdict, then every gate's paired change."""
    rows = [gate_row(GateRecord.from_dict(g)) for g in data["gates"]]
    return (
        markdown_environment()
        .get_template("comparison.md.j2")
        .render(c=data, rows=rows, passed=data["verdict"] == "pass")
    )


def comparison_files(data: dict[str, Any]) -> dict[str, bytes]:
    """The files `compare --out` writes, by name (written together, atomically)."""
    text = json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + "\n"
    return {
        JSON_FILE: text.encode("utf-8"),
        SUMMARY_FILE: summary_markdown(data).encode("utf-8"),
    }
