"""The report's gallery: a few adversaries, flipped predictions first, chosen batch by batch."""

from __future__ import annotations

from collections.abc import Sequence

from torch import Tensor

from sia_audit.attacks.engine import AttackBatch
from sia_audit.probes.interface import ProbeSet
from sia_audit.results import GalleryItem


def gallery_candidates(
    limit: int,
    probes: ProbeSet,
    idx: Sequence[int],
    x0: Tensor,
    recon: Tensor,
    r: AttackBatch,
    correct_clean: Tensor,
) -> list[GalleryItem]:
    """The batch's probes in gallery preference order (flipped first), at most `limit`.

    `merge_gallery` never keeps more than `limit` probes of one batch, and those it keeps are
    the first ones in this order, so the candidates are all it needs.
    """
    assert r.a_T is not None and r.a0 is not None
    flipped = (correct_clean & ~r.correct_adv).cpu()
    order = sorted(range(len(idx)), key=lambda i: not bool(flipped[i]))[:limit]

    def u8(img: Tensor) -> Tensor:
        return (img.detach().float().clamp(0, 1) * 255).round().byte().permute(1, 2, 0).cpu()

    items = []
    for i in order:
        delta = (r.a_T[i] - r.a0[i]).cpu()
        changes = sorted(
            zip(probes.attr_names, delta.tolist(), strict=True), key=lambda t: -abs(t[1])
        )
        items.append(
            GalleryItem(
                name=probes.names[idx[i]],
                original=u8(x0[i]),
                reconstruction=u8(recon[i]),
                adversary=u8(r.adversary[i]),
                changes=tuple((a, round(v, 4)) for a, v in changes if abs(v) > 0),
                flipped=bool(flipped[i]),
            )
        )
    return items


def merge_gallery(
    gallery: list[GalleryItem], candidates: Sequence[GalleryItem], limit: int
) -> None:
    """Keep the first `limit` probes the attack flipped (else the first ones), batch by batch."""
    for item in candidates:
        if len(gallery) >= limit:
            unflipped = [j for j, g in enumerate(gallery) if not g.flipped]
            if not (item.flipped and unflipped):
                continue
            gallery.pop(unflipped[-1])  # a flipped probe tells more than an unflipped one
        gallery.append(item)
