"""The synthfaces drawing layers, back to front: colours, the face's features, and where each
layer can reach. `renderer.render` composites them; a layer's look is its attributes' look."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from sia_audit.probes.synthfaces import drawing as dr
from sia_audit.probes.synthfaces.attributes import INDEX
from sia_audit.probes.synthfaces.params import brow_centre, hairline, lip_profile, mouth_line

V0 = 0.0  # where the cranium ellipse meets the lower face
HEAD_TOP = -0.60

SKIN_LIGHT = dr.rgb(0.95, 0.80, 0.69)
SKIN_MID = dr.rgb(0.80, 0.59, 0.44)
SKIN_DARK = dr.rgb(0.47, 0.31, 0.21)
SKIN_PALE = dr.rgb(0.98, 0.92, 0.89)
HAIR_GREY = dr.rgb(0.60, 0.58, 0.56)
HAIR_AUBURN = dr.rgb(0.62, 0.27, 0.13)
HAIR_BLACK = dr.rgb(0.07, 0.06, 0.06)
HAIR_BLOND = dr.rgb(0.93, 0.80, 0.45)
HAIR_BROWN = dr.rgb(0.40, 0.23, 0.11)
HAIR_OLD = dr.rgb(0.85, 0.85, 0.85)
LIPSTICK = dr.rgb(0.66, 0.02, 0.10)
IRIS_BROWN = dr.rgb(0.36, 0.20, 0.09)
IRIS_GREEN = dr.rgb(0.30, 0.48, 0.26)
IRIS_BLUE = dr.rgb(0.30, 0.52, 0.80)
FRAME_BLACK = dr.rgb(0.05, 0.05, 0.06)
FRAME_BROWN = dr.rgb(0.36, 0.18, 0.07)


class Face:
    """What every layer reads: the geometry, the colours and the attributes of the batch."""

    def __init__(self, g: dict[str, Tensor], attrs: Tensor) -> None:
        self.g = g
        self.attrs = attrs
        self.colors = colors(g, self.a)

    def a(self, name: str) -> Tensor:
        """Intensity of one attribute, (B, 1, 1)."""
        return self.attrs[:, INDEX[name]].view(-1, 1, 1)


def colors(g: dict[str, Tensor], a: Callable[[str], Tensor]) -> dict[str, Tensor]:
    t = g["skin"]
    skin = torch.where(
        t.unsqueeze(1) < 0.5,
        dr.mix(SKIN_LIGHT, SKIN_MID, (2 * t).clamp(0, 1)),
        dr.mix(SKIN_MID, SKIN_DARK, (2 * t - 1).clamp(0, 1)),
    )
    skin = dr.mix(skin, SKIN_PALE, 0.8 * a("Pale_Skin"))
    old = 1.0 - a("Young")
    grey = skin.mean(dim=1, keepdim=True).expand_as(skin)
    skin = dr.mix(skin, grey, 0.25 * old)

    hair = dr.mix(HAIR_GREY, HAIR_AUBURN, g["hair_base"])
    w = torch.cat([a("Black_Hair"), a("Blond_Hair"), a("Brown_Hair")], dim=1)  # (B, 3, 1)
    w = w / w.sum(dim=1, keepdim=True).clamp_min(1.0)
    for k, col in enumerate((HAIR_BLACK, HAIR_BLOND, HAIR_BROWN)):
        hair = hair + w[:, k : k + 1].unsqueeze(1) * (col - hair)
    hair = dr.mix(hair, HAIR_OLD, 0.55 * old)

    lips = skin * dr.rgb(0.92, 0.68, 0.68)
    lips = dr.mix(lips, LIPSTICK, a("Wearing_Lipstick"))
    it = g["iris"]
    iris = torch.where(
        it.unsqueeze(1) < 0.5,
        dr.mix(IRIS_BROWN, IRIS_GREEN, (2 * it).clamp(0, 1)),
        dr.mix(IRIS_GREEN, IRIS_BLUE, (2 * it - 1).clamp(0, 1)),
    )
    frame = dr.mix(FRAME_BLACK, FRAME_BROWN, g["frame"])
    return {"skin": skin, "hair": hair, "lips": lips, "iris": iris, "frame": frame}


def background(g: dict[str, Tensor], cx: Tensor, cy: Tensor, size: int) -> Tensor:
    bg = torch.cat([g["bg_r"], g["bg_g"], g["bg_b"]], dim=1).unsqueeze(-1)  # (B, 3, 1, 1)
    grad = (1.0 - 0.12 * cy).expand(1, size, size).unsqueeze(1)
    return (bg * grad).expand(-1, 3, size, size).clone()


def _head_distance(u: Tensor, v: Tensor, g: dict[str, Tensor]) -> Tensor:
    """Signed distance to the head: a cranium ellipse on top of a superellipse lower face.

    The lower face narrows towards the jaw by a horizontal squeeze that grows with depth.
    """
    top = dr.ellipse(u, v, 0.0, V0, g["face_w"], V0 - HEAD_TOP)
    t = ((v - V0) / g["face_h"]).clamp(0.0, 1.0)
    squeeze = 1.0 - (1.0 - g["jaw_w"] / g["face_w"]) * t
    low = dr.superellipse(u / squeeze, v, 0.0, V0, g["face_w"], g["face_h"], g["jaw_n"])
    return torch.where(v < V0, top, low)


def _hair_texture(u: Tensor, v: Tensor, hair: Tensor) -> Tensor:
    strands = 1.0 + 0.10 * torch.sin(45.0 * u + 5.0 * torch.sin(9.0 * v))
    return hair * strands.unsqueeze(1)


def _bald_crown(u: Tensor, v: Tensor, g: dict[str, Tensor]) -> Tensor:
    """Signed distance to the bare crown (negative inside); empty when Bald is 0."""
    return torch.sqrt(u * u + (v - HEAD_TOP) ** 2) - g["bald_r"]


def _hair_back(img: Tensor, u: Tensor, v: Tensor, pw: Tensor, f: Face) -> Tensor:
    g, hair = f.g, f.colors["hair"]
    hw = g["face_w"] + g["hair_vol"] + 0.05
    bottom = 0.10 + g["hair_len"]
    box = torch.maximum((u.abs() - hw), torch.maximum(V0 - 0.1 - v, v - bottom))
    cap = dr.ellipse(u, v, 0.0, V0, hw, V0 - HEAD_TOP + g["hair_vol"])
    d = torch.minimum(box, cap)
    d = torch.maximum(d, -_bald_crown(u, v, g))
    return dr.over(img, dr.fill(d, pw), _hair_texture(u, v, hair) * 0.85)


def _body(img: Tensor, u: Tensor, v: Tensor, pw: Tensor, f: Face) -> Tensor:
    g, male, skin = f.g, f.a("Male"), f.colors["skin"]
    shirt = torch.cat([g["shirt_r"], g["shirt_g"], g["shirt_b"]], dim=1).unsqueeze(-1)
    neck_w = 0.15 + 0.04 * male
    neck = torch.maximum(u.abs() - neck_w, 0.2 - v)
    img = dr.over(img, dr.fill(neck, pw), skin * 0.82)
    shoulders = dr.ellipse(u, v, 0.0, 1.22, 0.95 + 0.08 * male, 0.48)
    return dr.over(img, dr.fill(shoulders, pw), shirt)


def _face(img: Tensor, u: Tensor, v: Tensor, pw: Tensor, f: Face) -> Tensor:
    g, skin = f.g, f.colors["skin"]
    head = _head_distance(u, v, g)
    ear = torch.minimum(
        dr.ellipse(u, v, -g["face_w"], g["eye_y"] + 0.06, 0.055, 0.11),
        dr.ellipse(u, v, g["face_w"], g["eye_y"] + 0.06, 0.055, 0.11),
    )
    img = dr.over(img, dr.fill(ear, pw), skin * 0.9)
    r2 = (u / g["face_w"]) ** 2 + ((v - 0.05) / 0.62) ** 2
    shade = (1.04 - 0.16 * r2).clamp(0.7, 1.05).unsqueeze(1)
    return dr.over(img, dr.fill(head, pw), skin * shade)


def _wrinkles(img: Tensor, u: Tensor, v: Tensor, pw: Tensor, f: Face) -> Tensor:
    g, old, skin = f.g, 1.0 - f.a("Young"), f.colors["skin"]
    width = 0.016
    lines = []
    for dy in (0.17, 0.22):  # forehead
        y = g["eye_y"] - dy - 0.01 * torch.cos(u * 6.0)
        lines.append(torch.maximum((v - y).abs(), (u.abs() - 0.16) * 4))
    for side in (-1.0, 1.0):  # nasolabial folds
        p0 = (side * (g["nose_w"] + 0.02), g["nose_y"] - 0.03)
        p1 = (side * (g["mouth_w"] + 0.035), g["mouth_y"] + 0.04)
        lines.append(dr.segment(u, v, p0, p1))
    d = torch.stack(lines).amin(dim=0)
    return dr.over(img, dr.stroke(d, width, pw) * 0.8 * old, skin * 0.68)


def _beard(img: Tensor, u: Tensor, v: Tensor, pw: Tensor, f: Face) -> Tensor:
    g, beard, hair = f.g, 1.0 - f.a("No_Beard"), f.colors["hair"]
    head = _head_distance(u, v, g)
    top = g["nose_y"] + 0.03 + 0.07 * (1.0 - (u / g["face_w"]) ** 2).clamp_min(0.0)
    d = torch.maximum(head - 0.025 * beard, top - v)
    noise = dr.hash_noise(u, v)
    alpha = dr.fill(d, pw) * beard * (0.8 + 0.2 * noise)
    return dr.over(img, alpha, hair * 0.62)


def _nose(img: Tensor, u: Tensor, v: Tensor, pw: Tensor, f: Face) -> Tensor:
    g, skin = f.g, f.colors["skin"]
    nostrils = torch.minimum(
        dr.ellipse(u, v, -0.55 * g["nose_w"], g["nose_y"], 0.017, 0.010),
        dr.ellipse(u, v, 0.55 * g["nose_w"], g["nose_y"], 0.017, 0.010),
    )
    img = dr.over(img, dr.fill(nostrils, pw) * 0.85, skin * 0.45)
    ridge = dr.segment(u, v, (0.02, g["eye_y"] + 0.05), (g["nose_w"] * 0.8, g["nose_y"] - 0.02))
    return dr.over(img, dr.stroke(ridge, 0.018, pw) * 0.35, skin * 0.7)


def _mouth(img: Tensor, u: Tensor, v: Tensor, pw: Tensor, f: Face) -> Tensor:
    g, lips = f.g, f.colors["lips"]
    line = mouth_line(u, g)
    prof = lip_profile(u, g)
    half_gap = 0.5 * g["mouth_gap"] * prof
    inside_u = dr.fill(u.abs() - g["mouth_w"], pw)
    top = line - half_gap - g["lip_up"] * prof
    bottom = line + half_gap + g["lip_lo"] * prof
    img = dr.over(img, dr.band(top, bottom, v, pw) * inside_u, lips)
    opening = dr.band(line - half_gap, line + half_gap, v, pw) * inside_u
    img = dr.over(img, opening, dr.rgb(0.22, 0.05, 0.05))
    # Upper teeth: a sliver when the mouth is just open, most of the gap in a smile.
    teeth_bottom = line - (0.2 - 0.8 * f.a("Smiling")) * half_gap
    teeth = dr.band(line - half_gap, teeth_bottom, v, pw) * dr.fill(
        u.abs() - 0.7 * g["mouth_w"], pw
    )
    img = dr.over(img, teeth * 0.9, dr.rgb(0.93, 0.91, 0.86))
    seam = dr.band(line - 0.004, line + 0.004, v, pw) * inside_u  # the closed-mouth line
    return dr.over(img, seam * 0.7, lips * 0.45)


def _smile_lines(img: Tensor, u: Tensor, v: Tensor, pw: Tensor, f: Face) -> Tensor:
    """Short creases beside the mouth corners that deepen with a smile."""
    g, smile, skin = f.g, f.a("Smiling"), f.colors["skin"]
    corner_v = g["mouth_y"] - g["smile_lift"]
    creases = torch.minimum(
        dr.segment(
            u,
            v,
            (-g["mouth_w"] - 0.030, corner_v - 0.050),
            (-g["mouth_w"] - 0.010, corner_v + 0.040),
        ),
        dr.segment(
            u, v, (g["mouth_w"] + 0.030, corner_v - 0.050), (g["mouth_w"] + 0.010, corner_v + 0.040)
        ),
    )
    return dr.over(img, dr.stroke(creases, 0.022, pw) * 0.9 * smile, skin * 0.6)


def _mustache(img: Tensor, u: Tensor, v: Tensor, pw: Tensor, f: Face) -> Tensor:
    g, m, hair = f.g, f.a("Mustache"), f.colors["hair"]
    w = g["mouth_w"] * 1.35
    t = (u / w).clamp(-1.0, 1.0)
    lip_top = (
        mouth_line(u, g)
        - 0.5 * g["mouth_gap"] * lip_profile(u, g)
        - g["lip_up"] * lip_profile(u, g)
    )
    bottom = lip_top + 0.006 + 0.025 * t * t  # droops over the mouth corners
    top = bottom - 0.085 * m * (1.0 - 0.5 * t * t)
    alpha = dr.band(top, bottom, v, pw) * dr.fill(u.abs() - w, pw) * (0.35 + 0.65 * m)
    noise = dr.hash_noise(u, v)
    return dr.over(img, alpha * (0.85 + 0.15 * noise), hair * 0.45)


def _eyes(img: Tensor, u: Tensor, v: Tensor, pw: Tensor, f: Face) -> Tensor:
    g, iris = f.g, f.colors["iris"]
    for side in (-1.0, 1.0):
        cu = side * g["eye_dx"]
        sclera = dr.ellipse(u, v, cu, g["eye_y"], g["eye_w"], g["eye_h"])
        inside = dr.fill(sclera, pw)
        img = dr.over(img, inside, dr.rgb(0.95, 0.95, 0.93))
        r = torch.sqrt((u - cu) ** 2 + (v - g["eye_y"]) ** 2)
        img = dr.over(img, dr.fill(r - 0.95 * g["eye_h"], pw) * inside, iris)
        img = dr.over(img, dr.fill(r - 0.42 * g["eye_h"], pw) * inside, dr.rgb(0.03, 0.03, 0.03))
        lid = dr.stroke(sclera, 0.010, pw) * dr.fill(v - g["eye_y"] - 0.3 * g["eye_h"], pw)
        img = dr.over(img, lid * 0.9, dr.rgb(0.12, 0.08, 0.07))
    return img


def _brows(img: Tensor, u: Tensor, v: Tensor, pw: Tensor, f: Face) -> Tensor:
    g, hair, bushy = f.g, f.colors["hair"], f.a("Bushy_Eyebrows")
    hw = 1.25 * g["eye_w"]
    s = ((u.abs() - g["eye_dx"]) / hw).clamp(-1.0, 1.0)
    centre = brow_centre(u, g)
    half = 0.5 * g["brow_t"] * (1.0 - 0.35 * s.clamp_min(0.0))  # thinner towards the outer end
    alpha = dr.band(centre - half, centre + half, v, pw) * dr.fill(
        (u.abs() - g["eye_dx"]).abs() - hw, pw
    )
    noise = dr.hash_noise(u, v)
    color = dr.mix(hair * 0.55, dr.rgb(0.08, 0.06, 0.05), 0.3 + 0.6 * bushy)
    return dr.over(img, alpha * (0.9 + 0.1 * noise), color)


def _hair_front(img: Tensor, u: Tensor, v: Tensor, pw: Tensor, f: Face) -> Tensor:
    g, hair = f.g, f.colors["hair"]
    grown = dr.ellipse(u, v, 0.0, V0, g["face_w"] + g["hair_vol"], V0 - HEAD_TOP + g["hair_vol"])
    cap = torch.maximum(grown, v - hairline(u, g))
    cap = torch.maximum(cap, -_bald_crown(u, v, g))
    jag = 0.012 * torch.sin(u * 55.0)
    fringe_bottom = g["fringe_y"] + jag - 0.06 * (u / g["face_w"]) ** 2
    fringe = torch.maximum(grown, v - fringe_bottom)
    d = torch.minimum(cap, torch.maximum(fringe, u.abs() - 0.92 * g["face_w"]))
    return dr.over(img, dr.fill(d, pw), _hair_texture(u, v, hair))


def _glasses(img: Tensor, u: Tensor, v: Tensor, pw: Tensor, f: Face) -> Tensor:
    g, glasses, frame = f.g, f.a("Eyeglasses"), f.colors["frame"]
    width = 0.028 * glasses
    lw, lh = 1.45 * g["eye_w"], 2.4 * g["eye_h"] + 0.02
    n = 2.5 + 3.0 * g["frame"]
    cy = g["eye_y"] + 0.008
    lens = torch.minimum(
        dr.superellipse(u, v, -g["eye_dx"], cy, lw, lh, n),
        dr.superellipse(u, v, g["eye_dx"], cy, lw, lh, n),
    )
    img = dr.over(img, dr.fill(lens, pw) * 0.15 * glasses, dr.rgb(0.55, 0.62, 0.70))
    inner = g["eye_dx"] - lw
    outer = g["eye_dx"] + lw
    bar_y = cy - 0.3 * lh
    arms = torch.stack(
        [
            dr.segment(u, v, (-inner, bar_y), (inner, bar_y)),
            dr.segment(u, v, (-outer, bar_y), (-g["face_w"] - 0.02, bar_y + 0.02)),
            dr.segment(u, v, (outer, bar_y), (g["face_w"] + 0.02, bar_y + 0.02)),
        ]
    ).amin(dim=0)
    d = torch.minimum(lens.abs(), arms)
    return dr.over(img, dr.stroke(d, width, pw), frame)


# Back to front: each layer and the face-coordinate box it can touch (None: the whole canvas).
LAYERS: tuple[tuple[Callable[..., Tensor], tuple[float, float, float, float] | None], ...] = (
    (_hair_back, None),
    (_body, (-1.2, 1.2, 0.15, 1.2)),
    (_face, (-0.56, 0.56, -0.64, 0.66)),
    (_wrinkles, (-0.32, 0.32, -0.36, 0.44)),
    (_beard, (-0.52, 0.52, 0.10, 0.70)),
    (_nose, (-0.12, 0.12, -0.06, 0.21)),
    (_smile_lines, (-0.29, 0.29, 0.12, 0.44)),
    (_mouth, (-0.23, 0.23, 0.14, 0.46)),
    (_mustache, (-0.26, 0.26, 0.10, 0.40)),
    (_eyes, (-0.30, 0.30, -0.13, 0.04)),
    (_brows, (-0.33, 0.33, -0.28, -0.02)),
    (_hair_front, (-0.62, 0.62, -0.76, 0.72)),
    (_glasses, (-0.56, 0.56, -0.21, 0.13)),
)
