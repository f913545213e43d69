"""No input or event text is ever expanded into a `run:` script (script injection)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.action.sources import ACTION, WORKFLOWS, doc_example, injections, run_texts


def test_the_checker_finds_an_injection() -> None:
    bad = (
        "steps:\n  - run: echo '${{ inputs.model }}'\n  - run: echo ${{github.event.issue.title}}\n"
    )
    assert injections(bad) == ["steps[0].run", "steps[1].run"]
    assert injections("steps:\n  - env: {M: '${{ inputs.model }}'}\n    run: echo \"$M\"\n") == []


@pytest.mark.parametrize("path", [ACTION, *WORKFLOWS], ids=lambda p: p.name)
def test_no_input_or_event_expression_in_run_text(path: Path) -> None:
    assert WORKFLOWS, "the self-test workflow is missing"
    assert injections(path.read_text()) == []


def test_nor_in_the_documented_example(tmp_path: Path) -> None:
    assert injections(doc_example(tmp_path).read_text()) == []


def test_action_run_steps_expand_no_expression_at_all() -> None:
    """Stricter for the action itself: its scripts read everything from env."""
    for where, text in run_texts(yaml.safe_load(ACTION.read_text())):
        assert "${{" not in text, where
