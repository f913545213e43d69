"""summary.md: the short verdict for a GitHub job summary or a pull-request comment."""

from __future__ import annotations

from sia_audit.formats import views
from sia_audit.formats.interface import Report
from sia_audit.formats.templating import markdown_environment


def render(report: Report) -> bytes:
    """Verdict, failed gates, the top sensitive attributes and links to the other reports."""
    others = tuple(f for f in report.files if f != "summary.md")
    view = views.build(report.data, others)
    text = markdown_environment().get_template("summary.md.j2").render(v=view)
    return text.encode("utf-8")
