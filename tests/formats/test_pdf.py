"""report.pdf: pages render, text has the verdict and the gate table, report.json is attached
byte for byte, the metadata declares PDF/A-3b, and nothing outside the report is fetched."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from sia_audit.formats import html, markdown, pdf
from sia_audit.formats.interface import Report
from tests.formats import pdftools
from tests.formats.conftest import as_report


@pytest.fixture(scope="module")
def rendered(fixed_data: dict[str, Any], tmp_path_factory: pytest.TempPathFactory):
    report = as_report(fixed_data)
    path = tmp_path_factory.mktemp("pdf") / "report.pdf"
    path.write_bytes(pdf.render(report))
    return report, path


def test_pages_render_to_images(rendered: tuple[Report, Path], tmp_path: Path) -> None:
    _, path = rendered
    pages = pdftools.page_images(path, tmp_path)
    assert len(pages) == int(pdftools.info(path)["Pages"]) >= 2
    for page in pages:
        lo, hi = Image.open(page).convert("L").getextrema()
        assert hi - lo > 100, f"{page.name} is blank"


def test_text_has_verdict_gate_table_and_running_headers(rendered: tuple[Report, Path]) -> None:
    _, path = rendered
    first = pdftools.text(path, first=1)
    assert "FAILED" in first and "10 gates: 8 passed, 2 failed" in first
    for cell in ("gate", "threshold", "sensitivity s[Mustache]", "0.03565", "≤ 0.01", "FAIL"):
        assert cell in first
    pages = int(pdftools.info(path)["Pages"])
    last = pdftools.text(path, first=pages)
    assert f"page {pages} of {pages}" in last
    assert "examples/models/eyeglasses_control.pt" in last  # the running header
    assert "2026-11-22 05:00:00 UTC" in last


def test_report_json_is_attached_byte_for_byte(
    rendered: tuple[Report, Path], tmp_path: Path
) -> None:
    report, path = rendered
    assert pdftools.attachments(path, tmp_path / "att") == {"report.json": report.json_bytes}


def test_metadata_declares_pdf_a_3b(rendered: tuple[Report, Path]) -> None:
    report, path = rendered
    body = pdftools.inflated(path.read_bytes())
    assert b'pdfaid:part="3"' in body and b'pdfaid:conformance="B"' in body
    assert b"/GTS_PDFA1" in body  # the output intent (sRGB) PDF/A requires
    assert b"/AFRelationship /Source" in body  # PDF/A-3's associated file
    meta = pdftools.info(path)
    prov = report.data["provenance"]
    assert meta["Title"] == f"sia-audit report: {prov['target']}"
    assert meta["Creator"] == f"sia-audit {prov['tool_version']}"
    assert prov["target_sha256"] in meta["Keywords"]
    assert meta["JavaScript"] == "no"
    fonts = pdftools.poppler("pdffonts", str(path)).splitlines()[2:]
    assert fonts and all(line.split()[-5] == "yes" for line in fonts)  # PDF/A embeds every font


def test_the_fetcher_serves_data_uris_only() -> None:
    fetcher = pdf._fetcher()
    assert fetcher.fetch("data:text/plain;base64,aGk=").read() == b"hi"
    for url in ("file:///etc/passwd", "https://example.com/x.png", "ftp://x/y"):
        with pytest.raises(pdf.RefusedFetch):
            fetcher.fetch(url)


def test_a_page_asking_for_a_file_stops_the_render() -> None:
    from weasyprint import HTML
    from weasyprint.urls import FatalURLFetchingError

    page = '<p>x</p><img src="file:///etc/hostname">'
    with pytest.raises(FatalURLFetchingError):
        HTML(string=page, url_fetcher=pdf._fetcher()).render()


def test_all_three_renderings_take_under_10_s(fixed_data: dict[str, Any]) -> None:
    report = as_report(fixed_data)
    start = time.perf_counter()
    for render in (html.render, pdf.render, markdown.render):
        render(report)
    assert time.perf_counter() - start < 10.0
