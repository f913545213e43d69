"""report.pdf: the HTML report paginated by WeasyPrint as PDF/A-3b, report.json attached.

PDF/A-3 is the archival variant that allows embedded files, so the archived document carries
the exact data it was rendered from. Nothing is fetched: the page's only resources are data:
URIs, and the URL fetcher refuses every other URL (and stops the render if one is asked for).
"""

from __future__ import annotations

import io
from datetime import UTC, datetime

from sia_audit.formats import views
from sia_audit.formats.html import render_html
from sia_audit.formats.interface import Report

PDF_VARIANT = "pdf/a-3b"


class RefusedFetch(Exception):
    """The report asked for a resource outside itself: a bug in a template, never allowed."""


def _fetcher():  # noqa: ANN202 - weasyprint.URLFetcher (imported lazily: WeasyPrint is slow)
    from weasyprint import URLFetcher

    class DataOnlyFetcher(URLFetcher):
        """Serves data: URIs (the report's own images); refuses file:, http:, everything else."""

        def __init__(self) -> None:
            super().__init__(allowed_protocols=("data",), fail_on_errors=True)

        def fetch(self, url: str, headers=None):  # noqa: ANN001, ANN201 - WeasyPrint's API
            if not url.startswith("data:"):
                raise RefusedFetch(f"report.pdf may not fetch {url[:80]!r}")
            return super().fetch(url, headers)

    return DataOnlyFetcher()


def _date(view: views.ReportView) -> datetime:
    """The run's date for the attachment's dates, so the same report gives the same PDF."""
    if view.date_iso:
        try:
            return datetime.strptime(view.date_iso, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            pass
    return datetime(1970, 1, 1, tzinfo=UTC)


def render(report: Report) -> bytes:
    from weasyprint import HTML, Attachment

    view = views.build(report.data, report.files)
    fetcher = _fetcher()
    document = HTML(string=render_html(view, for_pdf=True), url_fetcher=fetcher).render()
    when = _date(view)
    attachment = Attachment(
        file_obj=io.BytesIO(report.json_bytes),
        name="report.json",
        description="sia-audit report.json this document was rendered from",
        created=when,
        modified=when,
        relationship="Source",
        url_fetcher=fetcher,
    )
    return document.write_pdf(pdf_variant=PDF_VARIANT, attachments=[attachment])
