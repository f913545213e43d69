"""A fixed report (a 6-probe audit with a baseline, trimmed, dated) and helpers to render it."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from sia_audit.formats import json_report
from sia_audit.formats.interface import Report

DATA = Path(__file__).parent / "data" / "report.json"
FILES = ("report.json", "report.html", "report.pdf", "summary.md")
HOSTILE_ATTRIBUTE = "<script>alert(1)</script>"
HOSTILE_MODEL = """models/"quoted" 'single' <b>bold</b> & `tick` | pipe.pt"""


@pytest.fixture(scope="session")
def fixed_data() -> dict[str, Any]:
    return json.loads(DATA.read_text(encoding="utf-8"))


@pytest.fixture
def data(fixed_data: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(fixed_data)


def as_report(data: dict[str, Any], files: tuple[str, ...] = FILES) -> Report:
    return Report(data, json_report.dumps(data).encode("utf-8"), files)


def renamed(value: Any, old: str, new: str) -> Any:
    """`value` with the attribute name `old` replaced by `new` everywhere (keys, strings)."""
    if isinstance(value, dict):
        return {renamed(k, old, new): renamed(v, old, new) for k, v in value.items()}
    if isinstance(value, list):
        return [renamed(v, old, new) for v in value]
    if isinstance(value, str):
        return value.replace(old, new)
    return value


def hostile(data: dict[str, Any]) -> dict[str, Any]:
    """The fixed report with a probe attribute named like a script and a model path full of
    quotes and angle brackets: what a malicious probe set or a careless path could hold."""
    out = renamed(data, "Mustache", HOSTILE_ATTRIBUTE)
    out["provenance"]["target"] = HOSTILE_MODEL
    return out


@pytest.fixture
def hostile_data(data: dict[str, Any]) -> dict[str, Any]:
    return hostile(data)
