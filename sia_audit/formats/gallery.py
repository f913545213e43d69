"""The gallery: original | reconstruction | adversary, and the attribute changes that made it."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


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


def gallery_cards(items: Sequence[Mapping[str, Any]]) -> tuple[GalleryCard, ...]:
    """Flipped predictions first (they show what breaks the model), else in probe order."""
    cards = [gallery_card(item) for item in items]
    return tuple(sorted(cards, key=lambda c: not c.flipped))


def gallery_card(item: Mapping[str, Any]) -> GalleryCard:
    images = item["images"]
    changes = [c for c in item["changes"] if float(c["change"]) != 0.0]
    changes.sort(key=lambda c: -abs(float(c["change"])))
    return GalleryCard(
        name=str(item["name"]),
        flipped=bool(item["flipped"]),
        original=_png_uri(images["original"]),
        reconstruction=_png_uri(images["reconstruction"]),
        adversary=_png_uri(images["adversary"]),
        changes=tuple(
            Change(str(c["attribute"]), f"{float(c['change']):+.3f}", float(c["change"]) > 0)
            for c in changes[:GALLERY_CHANGES]
        ),
        more=max(0, len(changes) - GALLERY_CHANGES),
    )


_B64 = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=")


def _png_uri(b64: Any) -> str:
    """A data: URI of the saved PNG; anything but base64 text is refused (it goes in src=)."""
    text = str(b64)
    if not text or not set(text) <= _B64:
        raise ValueError("a gallery image is not base64 text")
    return "data:image/png;base64," + text
