"""summary.md: gold file, short, and Markdown escaping of user text."""

from __future__ import annotations

from typing import Any

from sia_audit.formats import markdown
from sia_audit.formats.templating import code, code_cell, markdown_text, number
from tests.formats.conftest import as_report
from tests.formats.gold import check_gold


def render(data: dict[str, Any], files: tuple[str, ...] = ("report.json", "summary.md")) -> str:
    return markdown.render(as_report(data, files)).decode("utf-8")


def test_markdown_matches_gold(data: dict[str, Any]) -> None:
    check_gold(
        "summary.md", render(data, ("report.json", "report.html", "report.pdf", "summary.md"))
    )


def test_summary_is_short_and_says_what_failed(data: dict[str, Any]) -> None:
    text = render(data)
    assert text.startswith("## sia-audit: FAILED\n")
    failed = text.split("**Failed gates**")[1].split("<details>")[0]
    assert "`sensitivity s[Mustache]`" in failed and "`sdar(s)`" not in failed
    assert len(text) < 4000 and len(text.splitlines()) < 40
    assert "[report.json](report.json)" in text and "summary.md](" not in text


def test_a_passing_report_has_no_failed_table(data: dict[str, Any]) -> None:
    data["verdict"] = "pass"
    data["gates"] = [g for g in data["gates"] if g["status"] != "fail"]
    text = render(data)
    assert text.startswith("## sia-audit: PASSED\n") and "Failed gates" not in text


def test_code_spans_hold_backticks_pipes_and_newlines() -> None:
    assert code("a`b") == "``a`b``"
    assert code("`x`") == "`` `x` ``"
    assert code_cell("a|b") == "`a\\|b`"
    assert code("line\nbreak") == "`line break`"


def test_plain_text_is_escaped() -> None:
    assert markdown_text("<img src=x onerror=alert(1)>") == "&lt;img src=x onerror=alert\\(1\\)&gt;"
    assert markdown_text("[link](javascript:x) *b* _i_ | #") == (
        "\\[link\\]\\(javascript:x\\) \\*b\\* \\_i\\_ \\| \\#"
    )
    assert number("[0.1, 0.2]") == "[0.1, 0.2]" and number("≤ 0.25") == "≤ 0.25"
    assert number("[x](y)") == "\\[x\\]\\(y\\)"
