"""report.pdf: the HTML report paginated by WeasyPrint as PDF/A-3b, report.json attached.

PDF/A-3 is the archival variant that allows embedded files, so the archived document carries
the exact data it was rendered from. Nothing is fetched: the page's only resources are data:
URIs, and the URL fetcher refuses every other URL (and stops the render if one is asked for).

WeasyPrint loads the system's Pango when it is imported; `preflight` checks that it can render
before a run spends minutes on an audit whose PDF would then fail.
"""

from __future__ import annotations

import contextlib
import io
from datetime import UTC, datetime
from types import ModuleType

from sia_audit.errors import SiaAuditError
from sia_audit.formats import views
from sia_audit.formats.html import render_html
from sia_audit.formats.interface import Report

PDF_VARIANT = "pdf/a-3b"
PANGO = (
    "Debian/Ubuntu: apt-get install libpango-1.0-0 libpangoft2-1.0-0; Homebrew: brew install pango"
)
SKIP_PDF = "or leave the PDF out with --format json,html,md"


class PdfUnavailable(SiaAuditError):
    """WeasyPrint cannot render on this machine: Pango, a system library it loads, is missing."""


def _unavailable(exc: BaseException, alternative: str) -> PdfUnavailable:
    lines = str(exc).strip().splitlines()
    why = lines[0][:160] if lines else type(exc).__name__
    return PdfUnavailable(
        f"report.pdf cannot be rendered here: WeasyPrint failed ({why}); it needs Pango from the "
        f"system ({PANGO}); {alternative}"
    )


def _weasyprint(alternative: str = SKIP_PDF) -> ModuleType:
    """The weasyprint module, or one line naming the system package it lacks."""
    try:
        # On a missing library WeasyPrint prints a banner to stdout before raising: keep stdout
        # for the command's own output, the error is said once, on stderr.
        with contextlib.redirect_stdout(io.StringIO()):
            import weasyprint
    except (ImportError, OSError) as exc:
        raise _unavailable(exc, alternative) from None
    return weasyprint


def preflight(alternative: str = SKIP_PDF) -> None:
    """Render a one-line page now (0.1 s), so that a machine that cannot make report.pdf fails
    before the audit, in one line saying what to install or `alternative` (how to skip it)."""
    weasyprint = _weasyprint(alternative)
    try:
        weasyprint.HTML(string="<p>sia-audit</p>").write_pdf()
    except Exception as exc:  # an old or partial Pango fails here (cffi: a missing symbol)
        raise _unavailable(exc, alternative) from None


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
    weasyprint = _weasyprint()  # `render` on a machine without Pango: one line, not a traceback
    HTML, Attachment = weasyprint.HTML, weasyprint.Attachment

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
