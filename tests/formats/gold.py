"""Gold files: a rendering compared with a saved one, dates and wall times scrubbed.

Set SIA_AUDIT_UPDATE_GOLD=1 to rewrite the gold files after an intended change, then review the
diff like any other change.
"""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

GOLD = Path(__file__).parent / "gold"
_DATE = re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(Z| UTC)?")
_SECONDS = re.compile(r"\b\d+\.\d s\b")
_PNG = re.compile(r"(data:image/png;base64,)([A-Za-z0-9+/=]+)")


def _png_digest(m: re.Match[str]) -> str:
    return f"{m[1]}<sha256 {hashlib.sha256(m[2].encode()).hexdigest()[:16]}>"


def scrub(text: str) -> str:
    """Dates and wall times vary between runs of the same audit: replace them by placeholders.

    Inline PNGs become a short digest, so the gold file stays readable and still changes when
    an image does.
    """
    text = _PNG.sub(_png_digest, text)
    return _SECONDS.sub("<SECONDS>", _DATE.sub("<DATE>", text))


def check_gold(name: str, text: str) -> None:
    path = GOLD / name
    actual = scrub(text)
    if os.environ.get("SIA_AUDIT_UPDATE_GOLD") == "1":
        path.write_text(actual, encoding="utf-8")
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, (
        f"{name} differs from {path}; if intended, rerun with "
        "SIA_AUDIT_UPDATE_GOLD=1 and review the diff"
    )
