"""What every report format reads (`Report`) and how a format is named (`Format`).

Every format renders from report.json's data, not from live Python objects, so `sia-audit run`
and `sia-audit render REPORT.json` share one path and a re-render shows exactly what was saved.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Report:
    """A report as the formats read it.

    `json_bytes` are the exact bytes of report.json (the PDF embeds them, byte for byte);
    `files` are the report files written together, so the summary links only what exists.
    """

    data: dict[str, Any]
    json_bytes: bytes
    files: tuple[str, ...] = ()


@dataclass(frozen=True)
class Format:
    """One output format: its CLI name, the file it writes and the function that renders it."""

    name: str
    filename: str
    render: Callable[[Report], bytes]


def render_all(report: Report, formats: Iterable[Format]) -> dict[str, bytes]:
    """Every chosen format rendered in memory (file name -> bytes), before anything is written."""
    return {f.filename: f.render(report) for f in formats}
