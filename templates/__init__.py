"""Jinja2 templates of the HTML, PDF and Markdown reports (installed as sia_audit.templates)."""
