"""A benchmark's cache belongs to one generator: refuse to mix results made with another.

The caches key models and audits by recipe, not by the generator they were trained and audited
with. After the shipped generator changes, a rerun would otherwise resume from stale entries
and tabulate old and new figures side by side.
"""

from __future__ import annotations

from pathlib import Path

from scripts.training import shipped_generator
from sia_audit.fsutil import atomic_write_text, sha256_of

STAMP = "generator.sha256"


def check_generator(cache: Path, generator: Path | None = None, *, write: bool = True) -> None:
    """Exit if `cache` holds another generator's work; else stamp it with this generator's
    sha256 (creating it) unless `write` is False (a report-only run creates nothing)."""
    generator = generator or shipped_generator()
    digest = sha256_of(generator)
    stamp = cache / STAMP
    if stamp.exists():
        made_with = stamp.read_text().strip()
        if made_with != digest:
            raise SystemExit(
                f"{cache} was made with another generator (sha256 {made_with[:12]}, the shipped "
                f"one is {digest[:12]}); move the cache aside to start afresh"
            )
        return
    if not write:
        return
    cache.mkdir(parents=True, exist_ok=True)
    atomic_write_text(stamp, digest + "\n")
