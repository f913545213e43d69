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


def _estimate(value: float, definition: str) -> dict[str, Any]:
    low, high = max(0.0, value - 0.05), min(1.0, value + 0.05)
    return {"value": value, "low": low, "high": high, "n": 6, "level": 0.95,
            "definition": definition}  # fmt: skip


def with_editability(data: dict[str, Any], unmeasurable: str = "Smiling") -> dict[str, Any]:
    """The fixed report as if the generator could not draw `unmeasurable` (expression 0.33):
    its h is gone, it is listed, and a gate on it has the verdict `unmeasurable`."""
    out = copy.deepcopy(data)
    sens = out["figures"]["sensitivity"]
    sens["unmeasurable"] = [unmeasurable]
    del sens["h"][unmeasurable]
    attributes = {}
    for name in sens["attributes"]:
        rate = 0.33 if name == unmeasurable else 0.95
        attributes[name] = {
            "expression": _estimate(rate, f"Expression rate of {name}: fraction of the probes"),
            "leakage": _estimate(0.04, f"Leakage of {name}: mean move of the others"),
            "most_leaked_to": "Male" if name != "Male" else "Bald",
            "measurable": name != unmeasurable,
            "truth": {
                "flip_psnr_db": 30.0,
                "copy_psnr_db": 31.0 if name == unmeasurable else 25.0,
                "gain_db": -1.0 if name == unmeasurable else 5.0,
                "region_psnr_db": 27.5,
                "region_pixels": 90.0,
                "classifier_on_truth": _estimate(1.0, "on truth"),
            },  # fmt: skip
        }
    out["figures"]["editability"] = {
        "classifier": "the shipped synthfaces attribute classifier",
        "min_expression": 0.8,
        "n": 6,
        "unmeasurable": [unmeasurable],
        "attributes": attributes,
    }
    out["gates"].append(
        {
            "gate": f"sensitivity s[{unmeasurable}]",
            "status": "unmeasurable",
            "value": 0.2,
            "low": 0.1,
            "high": 0.3,
            "threshold": 0.4,
            "bound": "max",
            "use_confidence": True,
            "message": f"sensitivity s[{unmeasurable}]: unmeasurable with this generator "
            "(expression rate 0.33 < 0.8); this fails the run",
        }  # fmt: skip
    )
    return out
