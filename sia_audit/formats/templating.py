"""The Jinja2 environments of the reports, reading the templates installed as sia_audit.templates.

HTML and SVG templates autoescape; the Markdown environment escapes every printed value for
Markdown (`markdown_text`) unless a filter marked it safe, so user text (model paths, attribute
names) renders inert in all three formats without a template having to remember it.
"""

from __future__ import annotations

import re
from functools import cache
from importlib import resources
from typing import Any

import jinja2
import markupsafe

_ESCAPED = re.compile(r"([\\`*_{}\[\]()#+!|~])")


def _one_line(value: Any) -> str:
    """A newline would end a table row or a paragraph: fold line breaks into spaces."""
    return re.sub(r"\s*[\r\n]+\s*", " ", str(value))


class MarkdownSafe(str):
    """Text already made safe for Markdown (by `code` or `code_cell`); printed as is."""


def markdown_text(value: Any) -> str:
    """Plain text for Markdown: HTML characters as entities, Markdown punctuation escaped."""
    if isinstance(value, MarkdownSafe):
        return value
    text = _one_line(value)
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _ESCAPED.sub(r"\\\1", text)


def code(value: Any, in_table: bool = False) -> MarkdownSafe:
    """A Markdown code span: shown literally, so `<script>` is text, whatever backticks it holds."""
    text = _one_line(value)
    if in_table:  # GFM splits cells on | even inside code spans
        text = text.replace("|", "\\|")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if text.startswith("`") or text.endswith("`") or not text.strip() else ""
    return MarkdownSafe(f"{fence}{pad}{text}{pad}{fence}")


def code_cell(value: Any) -> MarkdownSafe:
    return code(value, in_table=True)


_NUMBER = re.compile(r"[0-9.,+\-e\[\] ≤≥]*")


def number(value: Any) -> str:
    """A figure the view formatted (digits, brackets, signs): printed as is, unescaped."""
    text = str(value)
    return MarkdownSafe(text) if _NUMBER.fullmatch(text) else markdown_text(text)


def _loader() -> jinja2.BaseLoader:
    return jinja2.FileSystemLoader(str(resources.files("sia_audit.templates")))


def breakable(name: str) -> markupsafe.Markup:
    """A gate's name, escaped, that may wrap before its "[attribute]" and nowhere else."""
    return markupsafe.Markup("<wbr>[").join(markupsafe.escape(name).split("["))


@cache
def html_environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=_loader(),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
    env.filters["breakable"] = breakable
    return env


@cache
def markdown_environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=_loader(),
        autoescape=False,
        undefined=jinja2.StrictUndefined,
        finalize=markdown_text,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["code"] = code
    env.filters["code_cell"] = code_cell
    env.filters["number"] = number
    return env
