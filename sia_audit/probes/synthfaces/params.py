"""Face parameters: identities and nuisances as unit-cube vectors, and the geometry they imply.

A face is (identity, nuisance, attributes). Identity and nuisance are stored as vectors in
[0, 1]^P (one column per named parameter) so that they are cheap to sample, to slice and to save
as text; `geometry()` maps them, together with the attributes, to the shapes the renderer draws
and the landmarks it reports. Keeping that mapping in one place is what keeps the landmarks on the
rendered features.

Face coordinates: u to the image right, v down, the face centred near (0, 0); the canvas before
the nuisance transform spans [-1, 1] in both axes.
"""

from __future__ import annotations

import torch
from torch import Tensor

from sia_audit.probes.synthfaces.attributes import INDEX

# Version 2 draws the small features bolder (a moustache, lipstick, a smile with teeth, parted
# lips and bushy brows cover more pixels), so a 64 px generator can learn them (docs/generator.md).
RENDERER_VERSION = 2

# name: (low, high) of the affine map from the unit interval.
IDENTITY_RANGES: dict[str, tuple[float, float]] = {
    "face_w": (0.37, 0.45),  # half-width of the face at the cheekbones
    "face_h": (0.50, 0.58),  # half-height of the lower face, centre to chin
    "jaw": (0.0, 1.0),  # how square the jaw is (male pushes it further)
    "skin": (0.0, 1.0),  # position on the light -> dark skin-tone ramp
    "eye_dx": (0.150, 0.185),  # half the distance between the eye centres
    "eye_y": (-0.07, -0.02),
    "eye_w": (0.062, 0.078),  # half-width of an eye
    "eye_h": (0.028, 0.038),  # half-height of an eye
    "iris": (0.0, 1.0),  # brown -> green -> blue
    "brow_gap": (0.075, 0.10),  # eyebrow height above the eye centre
    "brow_arch": (0.008, 0.030),
    "nose_y": (0.12, 0.17),  # nostril line
    "nose_w": (0.045, 0.065),
    "mouth_y": (0.27, 0.32),
    "mouth_w": (0.105, 0.135),  # half-width of the mouth
    "lip_t": (0.020, 0.030),  # lip thickness
    "hair_base": (0.0, 1.0),  # hair colour when no colour attribute is on: grey -> auburn
    "hair_len": (0.0, 1.0),  # how far long hair falls below the ears
    "hair_vol": (0.04, 0.09),  # hair thickness above the scalp
    "hairline": (-0.42, -0.34),
    "frame": (0.0, 1.0),  # eyeglasses frame colour and squareness
    "shirt_r": (0.1, 0.9),
    "shirt_g": (0.1, 0.9),
    "shirt_b": (0.1, 0.9),
    "bg_r": (0.25, 0.85),
    "bg_g": (0.25, 0.85),
    "bg_b": (0.25, 0.85),
}
NUISANCE_RANGES: dict[str, tuple[float, float]] = {
    "shift_x": (-0.05, 0.05),  # canvas units (the canvas is 2 wide)
    "shift_y": (-0.05, 0.05),
    "roll": (-0.12, 0.12),  # radians, about 7 degrees
    "scale": (0.93, 1.07),
    "light_angle": (0.0, 6.2832),
    "light": (0.0, 0.16),  # strength of the lighting gradient
}
IDENTITY_PARAMS: tuple[str, ...] = tuple(IDENTITY_RANGES)
NUISANCE_PARAMS: tuple[str, ...] = tuple(NUISANCE_RANGES)


def sample_unit(n: int, names: tuple[str, ...], generator: torch.Generator) -> Tensor:
    """n unit-cube vectors (n, len(names)) from `generator`; the draw order is the format."""
    return torch.rand((n, len(names)), generator=generator, dtype=torch.float32)


def unpack(unit: Tensor, ranges: dict[str, tuple[float, float]]) -> dict[str, Tensor]:
    """Map unit-cube columns to named parameters, each (B, 1, 1) to broadcast over (B, H, W)."""
    out = {}
    for j, (name, (lo, hi)) in enumerate(ranges.items()):
        out[name] = (lo + (hi - lo) * unit[:, j]).view(-1, 1, 1)
    return out


def geometry(identity: Tensor, attrs: Tensor) -> dict[str, Tensor]:
    """Shapes of one batch of faces in face coordinates, each value (B, 1, 1).

    Attributes act here when they move geometry (Male widens the jaw and shortens the hair,
    Smiling lifts and widens the mouth, Mouth_Slightly_Open parts the lips, Bald raises the
    hairline, Bangs lowers the fringe, Bushy_Eyebrows thickens the brows).
    """
    p = unpack(identity, IDENTITY_RANGES)

    def a(name: str) -> Tensor:
        return attrs[:, INDEX[name]].view(-1, 1, 1)

    male, smile, open_, bald = a("Male"), a("Smiling"), a("Mouth_Slightly_Open"), a("Bald")
    g: dict[str, Tensor] = dict(p)
    g["jaw_w"] = p["face_w"] * (0.80 + 0.17 * male + 0.04 * p["jaw"])
    g["jaw_n"] = 2.0 + 0.6 * p["jaw"] + 1.6 * male  # superellipse exponent of the lower face
    g["face_h"] = p["face_h"] * (1.0 + 0.04 * male)
    g["brow_t"] = (0.014 + 0.006 * male) * (1.0 + 3.2 * a("Bushy_Eyebrows"))
    g["brow_y"] = p["eye_y"] - p["brow_gap"] + 0.01 * male
    g["mouth_w"] = p["mouth_w"] * (1.0 + 0.30 * smile)
    g["smile_lift"] = 0.085 * smile  # how far the mouth corners rise
    # Lip parting at the centre: wide when the mouth is open, a row of teeth when smiling.
    g["mouth_gap"] = 0.070 * open_ + 0.040 * smile * (1.0 - 0.5 * open_)
    g["lip_up"] = p["lip_t"] * (0.85 - 0.15 * male + 0.95 * a("Wearing_Lipstick"))
    g["lip_lo"] = p["lip_t"] * (1.05 - 0.15 * male + 1.00 * a("Wearing_Lipstick"))
    g["mouth_y"] = p["mouth_y"] + 0.5 * g["mouth_gap"]
    g["hair_len"] = (0.05 + 0.55 * p["hair_len"] * (1.0 - 0.75 * male)) * (1.0 - bald) - 0.22 * male
    g["hair_vol"] = p["hair_vol"] * (1.0 - 0.4 * male)
    g["hairline"] = p["hairline"] - 0.30 * bald
    g["temple_drop"] = 0.40 - 0.20 * male  # how far the hair comes down beside the forehead
    g["bald_r"] = 0.62 * bald  # radius of the bare crown, centred on the top of the head
    fringe_bottom = g["brow_y"] - g["brow_t"] - 0.02
    g["fringe_y"] = g["hairline"] + (fringe_bottom - g["hairline"]) * a("Bangs")
    g["cranium_y"] = torch.full_like(p["face_w"], -0.10)
    g["cranium_h"] = torch.full_like(p["face_w"], 0.50)
    return g


def mouth_line(u: Tensor, g: dict[str, Tensor]) -> Tensor:
    """Vertical position of the line between the lips at horizontal position u."""
    t = (u / g["mouth_w"]).clamp(-1.0, 1.0)
    return g["mouth_y"] - g["smile_lift"] * t * t


def lip_profile(u: Tensor, g: dict[str, Tensor]) -> Tensor:
    """Thickness profile of the lips across the mouth: 1 at the centre, 0 at the corners."""
    t = (u / g["mouth_w"]).clamp(-1.0, 1.0)
    return (1.0 - t * t).clamp_min(0.0).sqrt()


def brow_centre(u: Tensor, g: dict[str, Tensor]) -> Tensor:
    """Vertical position of the eyebrow centre line at u (both brows, mirrored)."""
    s = ((u.abs() - g["eye_dx"]) / (1.25 * g["eye_w"])).clamp(-1.0, 1.0)
    return g["brow_y"] - g["brow_arch"] * (1.0 - s * s)


def hairline(u: Tensor, g: dict[str, Tensor]) -> Tensor:
    """The hairline: highest in the middle, descending towards the temples."""
    return g["hairline"] + g["temple_drop"] * (u / g["face_w"]) ** 4
