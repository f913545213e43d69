"""Editability in the reports: unmeasurable attributes are hatched, listed with their figure and
the reason, left out of h, and their gates count as failed in HTML, PDF and summary.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sia_audit.formats import html, markdown, pdf, views
from tests.formats import pdftools
from tests.formats.conftest import as_report, with_editability


def test_html_marks_the_unmeasurable_attribute(data: dict[str, Any]) -> None:
    page = html.render(as_report(with_editability(data))).decode("utf-8")
    editability = page.split('<section id="editability">')[1].split("</section>")[0]
    assert "Unmeasurable here: <code>Smiling</code> (0.330)" in editability
    assert "the shipped synthfaces attribute classifier" in editability
    assert '<tr class="unmeasurable">' in editability and "+5.0" in editability
    chart = page.split("<svg")[1].split("</svg>")[0]
    assert 'fill="url(#unmeasurable-hatch)"' in chart and "Smiling ⊘" in chart
    assert chart.count('fill="url(#unmeasurable-hatch)"') == 1  # s only: h has no bar for it
    sensitivity = page.split('<section id="sensitivity">')[1].split("</section>")[0]
    assert "n/a" in sensitivity and "left out of h and SDAR" in sensitivity
    assert '<span class="status unmeasurable">UNMEASURABLE</span>' in page


def test_unmeasurable_gates_count_as_failed(data: dict[str, Any]) -> None:
    view = views.build(with_editability(data))
    assert "sensitivity s[Smiling]" in [g.name for g in view.failed]
    assert view.editability is not None and [r.attribute for r in view.editability.unmeasurable]


def test_summary_says_why_an_unmeasurable_gate_fails(data: dict[str, Any]) -> None:
    text = markdown.render(as_report(with_editability(data))).decode("utf-8")
    assert "**Unmeasurable with this generator** (expression rate below 0.8): `Smiling` 0.330" in (
        text
    )
    assert "A CI gate must not pass on what it cannot measure." in text
    failed = text.split("**Failed gates**")[1].split("<details>")[0]
    assert "`sensitivity s[Smiling]`" in failed


def test_summary_when_every_attribute_is_measurable(data: dict[str, Any]) -> None:
    d = with_editability(data)
    d["figures"]["editability"]["unmeasurable"] = []
    d["figures"]["editability"]["attributes"]["Smiling"]["measurable"] = True
    text = markdown.render(as_report(d)).decode("utf-8")
    assert (
        "Editability: the generator draws every attribute (lowest expression rate of those the "
        "attack moves `Smiling`" in text
    )


def test_the_lowest_expression_rate_is_not_the_frozen_label(data: dict[str, Any]) -> None:
    """The target's own label is frozen in the attack: quoting it as the lowest rate says
    nothing about what the attack moved."""
    d = with_editability(data)
    d["figures"]["editability"]["unmeasurable"] = []
    rows = d["figures"]["editability"]["attributes"]
    rows["Smiling"]["measurable"] = True
    rows["Smiling"]["expression"]["value"] = 0.9
    rows["Eyeglasses"] = {**rows["Bald"], "expression": {**rows["Bald"]["expression"]}}
    rows["Eyeglasses"]["expression"]["value"] = 0.81  # the label: drawn, but the least well
    view = views.build(d)
    assert view.editability is not None and view.editability.rows[0].attribute == "Eyeglasses"
    assert view.editability.lowest.attribute == "Smiling"
    text = markdown.render(as_report(d)).decode("utf-8")
    assert "the attack moves `Smiling` 0.900" in text and "`Eyeglasses` 0.810" not in text


def test_pdf_carries_the_editability_section(data: dict[str, Any], tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf.render(as_report(with_editability(data))))
    text = pdftools.text(path)
    assert "Editability of the generator" in text and "unmeasurable" in text
