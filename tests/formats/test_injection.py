"""A probe attribute named `<script>alert(1)</script>` and a model path with quotes and angle
brackets render as inert text in the HTML, the PDF and the Markdown."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from sia_audit.formats import html, markdown, pdf
from tests.formats import pdftools
from tests.formats.conftest import HOSTILE_ATTRIBUTE, HOSTILE_MODEL, as_report, with_editability

TEMPLATE_TAGS = {
    "html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "h3", "dl", "dt",
    "dd", "code", "section", "div", "span", "table", "thead", "tbody", "tr", "th", "td", "p",
    "em", "strong", "figure", "svg", "text", "line", "g", "rect", "img", "ul", "li", "br",
    "defs", "pattern", "wbr",
}  # fmt: skip


class Collector(HTMLParser):
    """Every tag, attribute value and text the way a browser's parser sees them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes += [v or "" for _, v in attrs]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@pytest.mark.parametrize("editable", [False, True])
def test_html_shows_hostile_text_as_text(hostile_data: dict[str, Any], editable: bool) -> None:
    if editable:  # the editability block and an unmeasurable gate print attribute names too
        hostile_data = with_editability(hostile_data, HOSTILE_ATTRIBUTE)
    page = html.render(as_report(hostile_data)).decode("utf-8")
    parsed = Collector()
    parsed.feed(page)
    assert parsed.tags <= TEMPLATE_TAGS  # no <script>, no <b> smuggled in
    text = "".join(parsed.text)
    assert HOSTILE_ATTRIBUTE in text and HOSTILE_MODEL in text
    assert any(HOSTILE_MODEL in a for a in parsed.attributes)  # quotes did not end the value
    assert "<script" not in page.lower() and "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def strip_code_spans(text: str) -> str:
    return re.sub(r"(`+)(.+?)\1", "", text)


@pytest.mark.parametrize("editable", [False, True])
def test_markdown_shows_hostile_text_in_code_spans(
    hostile_data: dict[str, Any], editable: bool
) -> None:
    if editable:
        hostile_data = with_editability(hostile_data, HOSTILE_ATTRIBUTE)
    text = markdown.render(as_report(hostile_data)).decode("utf-8")
    assert f"`sensitivity s[{HOSTILE_ATTRIBUTE}]`" in text  # a code span in the gate tables
    outside = strip_code_spans(text)
    tags = set(re.findall(r"</?([a-zA-Z]+)", outside))
    assert tags <= {"details", "summary"}, tags  # only the template's own collapsible block
    columns = 0
    for line in text.splitlines():
        cells = re.split(r"(?<!\\)\|", line)  # the model path's | must not add a column
        if line.startswith("| gate "):  # a table's header sets its column count
            columns = len(cells)
        elif line.startswith("| `"):
            assert len(cells) == columns, line


def test_pdf_prints_hostile_text_and_holds_no_script(
    hostile_data: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf.render(as_report(hostile_data)))
    text = pdftools.text(path)
    assert HOSTILE_ATTRIBUTE in text and "<b>bold</b>" in text
    body = pdftools.inflated(path.read_bytes())
    for action in (b"/JavaScript", b"/JS ", b"/Launch", b"/URI", b"/SubmitForm"):
        assert action not in body
    assert pdftools.info(path)["Title"] == f"sia-audit report: {HOSTILE_MODEL}"
