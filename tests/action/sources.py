"""The YAML files the action tests check: action.yml, the workflows, and the documented example."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
ACTION = ROOT / "action.yml"
WORKFLOWS = sorted((ROOT / ".github" / "workflows").glob("*.yml"))
DOC = ROOT / "docs" / "guide" / "github-action.md"


def doc_example(folder: Path) -> Path:
    """The example workflow of docs/guide/github-action.md, written to `folder` for the linters."""
    blocks = re.findall(r"```yaml\n(.*?)```", DOC.read_text(), re.DOTALL)
    assert len(blocks) == 1, "docs/guide/github-action.md should hold one yaml example"
    path = folder / "model-audit.yml"
    path.write_text(blocks[0])
    return path


def run_texts(doc: Any, where: str = "") -> Iterator[tuple[str, str]]:
    """(location, text) of every `run:` script in a parsed action or workflow."""
    if isinstance(doc, dict):
        for key, value in doc.items():
            here = f"{where}.{key}" if where else str(key)
            if key == "run" and isinstance(value, str):
                yield here, value
            else:
                yield from run_texts(value, here)
    elif isinstance(doc, list):
        for i, item in enumerate(doc):
            yield from run_texts(item, f"{where}[{i}]")


FORBIDDEN = re.compile(r"\$\{\{\s*(inputs\.|github\.event)")


def injections(text: str) -> list[str]:
    """Locations of `${{ inputs.` / `${{ github.event` expressions inside run: scripts."""
    return [where for where, run in run_texts(yaml.safe_load(text)) if FORBIDDEN.search(run)]
