"""Reading a PDF back with poppler-utils (pdftotext, pdftoppm, pdfdetach, pdfinfo) and zlib."""

from __future__ import annotations

import re
import subprocess
import zlib
from pathlib import Path


def poppler(*args: str) -> str:
    """Run a poppler tool; scripts/setup.sh installs poppler-utils, so a missing one fails."""
    return subprocess.run(args, check=True, capture_output=True, text=True).stdout


def text(pdf: Path, *, first: int | None = None, last: int | None = None) -> str:
    pages = [] if first is None else ["-f", str(first), "-l", str(last or first)]
    return poppler("pdftotext", "-layout", *pages, str(pdf), "-")


def info(pdf: Path) -> dict[str, str]:
    out = poppler("pdfinfo", str(pdf))
    return {k.strip(): v.strip() for k, v in (line.split(":", 1) for line in out.splitlines())}


def page_images(pdf: Path, folder: Path, dpi: int = 40) -> list[Path]:
    poppler("pdftoppm", "-r", str(dpi), "-png", str(pdf), str(folder / "page"))
    return sorted(folder.glob("page-*.png"))


def attachments(pdf: Path, folder: Path) -> dict[str, bytes]:
    folder.mkdir(parents=True, exist_ok=True)
    poppler("pdfdetach", "-saveall", "-o", str(folder), str(pdf))
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def inflated(pdf_bytes: bytes) -> bytes:
    """The PDF with every Flate stream decompressed and appended: XMP metadata, the catalog
    and its attachments' dictionaries live in compressed streams, invisible to a plain search."""
    parts = [pdf_bytes]
    for m in re.finditer(rb"stream\r?\n", pdf_bytes):
        try:
            parts.append(zlib.decompressobj().decompress(pdf_bytes[m.end() :]))
        except zlib.error:
            continue
    return b"\n".join(parts)
