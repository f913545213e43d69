"""A contact sheet a person can judge: random faces, and per-attribute sweeps 0 -> 0.5 -> 1."""

from __future__ import annotations

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont

from sia_audit.probes.synthfaces.attributes import ATTRIBUTES, INDEX
from sia_audit.probes.synthfaces.params import IDENTITY_PARAMS, NUISANCE_PARAMS, sample_unit
from sia_audit.probes.synthfaces.renderer import render
from sia_audit.probes.synthfaces.sampler import AttributeSampler

# The face each sweep starts from: young, clean-shaven, nothing else on.
NEUTRAL = {"No_Beard": 1.0, "Young": 1.0}


def _to_uint8(images: torch.Tensor) -> np.ndarray:
    return (images.permute(0, 2, 3, 1).numpy() * 255.0).round().astype(np.uint8)


def contact_sheet(
    seed: int = 0, n_random: int = 20, n_sweep: int = 3, cell: int = 96
) -> Image.Image:
    """Top: `n_random` random faces at the default 64 px (shown 2x). Below: one row per
    attribute, for `n_sweep` identities, the attribute at 0, 0.5 and 1 on a neutral face."""
    g = torch.Generator().manual_seed(seed)
    font = ImageFont.load_default(size=13)
    label_w, gap, pad = 150, 10, 8
    cols = n_sweep * 3
    width = label_w + cols * cell + (n_sweep - 1) * gap + pad
    rand_cell = 128
    per_row = max(1, (width - pad) // rand_cell)
    rand_rows = -(-n_random // per_row)
    header = 24
    height = header + rand_rows * rand_cell + header + 20 + len(ATTRIBUTES) * cell + pad
    sheet = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(sheet)

    _, on_attrs = AttributeSampler().sample(n_random, g)
    ident = sample_unit(n_random, IDENTITY_PARAMS, g)
    nuis = sample_unit(n_random, NUISANCE_PARAMS, g)
    faces = _to_uint8(render(ident, nuis, on_attrs, size=64).images)
    draw.text(
        (pad, 5), f"Random synthfaces at 64x64 (seed {seed}), shown 2x", fill="black", font=font
    )
    for i, face in enumerate(faces):
        img = Image.fromarray(face).resize((rand_cell, rand_cell), Image.Resampling.NEAREST)
        sheet.paste(img, (pad + (i % per_row) * rand_cell, header + (i // per_row) * rand_cell))

    top = header + rand_rows * rand_cell + 8
    draw.text(
        (pad, top),
        "Each attribute at 0, 0.5, 1 on a neutral face (same identity = same person), 128x128",
        fill="black",
        font=font,
    )
    top += header
    for j in range(n_sweep):
        x = label_w + j * (3 * cell + gap)
        for k, level in enumerate(("0", "0.5", "1")):
            draw.text((x + k * cell + cell // 2 - 8, top - 2), level, fill="black", font=font)
    top += 16
    ident = sample_unit(n_sweep, IDENTITY_PARAMS, g)
    nuis = torch.full((n_sweep, len(NUISANCE_PARAMS)), 0.5)  # upright, centred, even light
    base = torch.zeros(len(ATTRIBUTES))
    for name, value in NEUTRAL.items():
        base[INDEX[name]] = value
    for r, name in enumerate(ATTRIBUTES):
        attrs = base.repeat(n_sweep * 3, 1)
        attrs[:, INDEX[name]] = torch.tensor([0.0, 0.5, 1.0]).repeat(n_sweep)
        out = render(ident.repeat_interleave(3, 0), nuis.repeat_interleave(3, 0), attrs, size=128)
        y = top + r * cell
        draw.text((pad, y + cell // 2 - 8), name, fill="black", font=font)
        for i, face in enumerate(_to_uint8(out.images)):
            j, k = divmod(i, 3)
            img = Image.fromarray(face).resize((cell, cell), Image.Resampling.LANCZOS)
            sheet.paste(img, (label_w + j * (3 * cell + gap) + k * cell, y))
    return sheet
