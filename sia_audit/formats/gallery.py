"""The gallery: original | reconstruction | adversary, and the attribute changes that made it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sia_audit.report_schema import GalleryRecord


@dataclass(frozen=True)
class Change:
    attribute: str
    change: str
    up: bool


@dataclass(frozen=True)
class GalleryCard:
    name: str
    flipped: bool
    original: str  # data: URI
    reconstruction: str
    adversary: str
    changes: tuple[Change, ...]  # largest |change| first
    more: int  # changes not shown


GALLERY_CHANGES = 5


def gallery_cards(items: Sequence[GalleryRecord]) -> tuple[GalleryCard, ...]:
    """Flipped predictions first (they show what breaks the model), else in probe order."""
    cards = [gallery_card(item) for item in items]
    return tuple(sorted(cards, key=lambda c: not c.flipped))


def gallery_card(item: GalleryRecord) -> GalleryCard:
    changes = [(name, change) for name, change in item.changes if change != 0.0]
    changes.sort(key=lambda c: -abs(c[1]))
    return GalleryCard(
        name=item.name,
        flipped=item.flipped,
        original=_png_uri(item.original),
        reconstruction=_png_uri(item.reconstruction),
        adversary=_png_uri(item.adversary),
        changes=tuple(
            Change(name, f"{change:+.3f}", change > 0) for name, change in changes[:GALLERY_CHANGES]
        ),
        more=max(0, len(changes) - GALLERY_CHANGES),
    )


_B64 = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")


def _png_uri(text: str) -> str:
    """A data: URI of the saved PNG; anything but base64 text is refused (it goes in src=)."""
    if not text or not set(text) <= _B64:
        raise ValueError("a gallery image is not base64 text")
    return "data:image/png;base64," + text
