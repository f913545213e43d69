"""report.html: gold file, self-contained (nothing to fetch), verdict first, every section."""

from __future__ import annotations

import re
from typing import Any

from sia_audit.formats import html
from tests.formats.conftest import as_report
from tests.formats.gold import check_gold, scrub


def render(data: dict[str, Any]) -> str:
    return html.render(as_report(data)).decode("utf-8")


def external_references(page: str) -> list[str]:
    """Everything in the page a browser could fetch from outside it (data: URIs are inside)."""
    found = []
    for attr, value in re.findall(
        r"\b(src|href|srcset|action|poster|data)\s*=\s*\"([^\"]*)\"", page
    ):
        if not value.startswith("data:") and not value.startswith("#"):
            found.append(f"{attr}={value}")
    found += [m for m in re.findall(r"url\(\s*['\"]?([^)'\"]*)", page) if not m.startswith("data:")]
    found += re.findall(r"@import[^;]*", page)
    found += re.findall(r"(?:https?:)?//[\w.-]+\.[a-z]{2,}[^\s\"'<]*", page)
    found += re.findall(r"<(?:script|iframe|object|embed|link|base)\b[^>]*>", page)
    return found


def test_html_matches_gold(data: dict[str, Any]) -> None:
    check_gold("report.html", render(data))


def test_html_fetches_nothing(data: dict[str, Any]) -> None:
    page = render(data)
    assert external_references(page) == []
    assert "default-src 'none'" in page  # the browser refuses any fetch the page might attempt
    assert page.count("data:image/png;base64,") == 3 * len(data["gallery"])


def test_the_reference_finder_finds_references() -> None:
    bad = (
        '<img src="http://x.example/a.png"><link href="//cdn.example.com/x.css">'
        "<style>@import 'x.css'; a { background: url(https://e.example/b.png) }</style>"
    )
    assert len(external_references(bad)) >= 4


def test_verdict_comes_first_and_every_section_is_there(data: dict[str, Any]) -> None:
    page = render(data)
    order = [
        page.index(marker)
        for marker in (
            'id="verdict"',
            'id="sensitivity"',
            'id="attacks"',
            'id="gallery"',
            'id="subpopulations"',
            'id="regression"',
            'id="provenance"',
        )
    ]
    assert order == sorted(order)
    assert ">FAILED<" in page and "sensitivity s[Mustache]" in page
    assert "regression sdar(s)" in page.split('id="regression"')[1]


def test_protected_attributes_are_marked(data: dict[str, Any]) -> None:
    page = render(data)
    rows = re.findall(r"<tr>\s*<td>(.*?)</td>", page.split('class="sensitivity"')[1])
    marked = {re.sub(r"<.*?>|● ", "", r).strip() for r in rows if "prot" in r}
    assert marked == {"Mustache", "Male"}
    data["protected"] = []
    assert 'class="prot"' not in render(data)


def test_html_scrub_hides_dates_only() -> None:
    assert scrub("2026-11-22 05:00:00 UTC; 2026-11-22T05:00:00Z; 0.125") == "<DATE>; <DATE>; 0.125"
