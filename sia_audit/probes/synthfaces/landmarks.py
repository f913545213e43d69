"""The 68 iBUG landmarks of a synthetic face, computed from the same geometry the renderer draws.

Layout (0-based, "right" is the subject's right, on the image's left): 0-16 jaw from the right
ear to the left, 17-21 right brow (outer to inner), 22-26 left brow (inner to outer), 27-30 nose
bridge, 31-35 nostril line, 36-41 right eye (36 outer corner), 42-47 left eye (45 outer corner),
48-59 outer lip (48 right corner, clockwise on the image), 60-67 inner lip.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

from sia_audit.probes.synthfaces.params import brow_centre, lip_profile, mouth_line

JAW_OVERSHOOT = 0.18  # radians above the horizontal where the jaw line starts and ends


def _jaw(g: dict[str, Tensor], v0: float, head_top: float) -> tuple[Tensor, Tensor]:
    theta = torch.tensor(
        [math.pi + JAW_OVERSHOOT - i * (math.pi + 2 * JAW_OVERSHOOT) / 16 for i in range(17)]
    ).view(1, -1)
    fw, fh, n = g["face_w"].view(-1, 1), g["face_h"].view(-1, 1), g["jaw_n"].view(-1, 1)
    c, s = torch.cos(theta), torch.sin(theta)
    # Lower face: the superellipse |x/a|^n + |t|^n = 1 with the jaw squeeze undone.
    t = s.clamp_min(0.0).pow(2.0 / n)
    x = fw * torch.sign(c) * c.abs().pow(2.0 / n)
    squeeze = 1.0 - (1.0 - g["jaw_w"].view(-1, 1) / fw) * t
    u_low, v_low = x * squeeze, v0 + fh * t
    # Above the centre line: the cranium ellipse.
    u_top, v_top = fw * c, v0 + (v0 - head_top) * s
    upper = s < 0
    return torch.where(upper, u_top, u_low), torch.where(upper, v_top, v_low)


def face_landmarks(g: dict[str, Tensor], v0: float, head_top: float) -> Tensor:
    """(B, 68, 2) landmarks in face coordinates."""
    b = g["face_w"].shape[0]

    def col(x: Tensor | float) -> Tensor:
        return torch.as_tensor(x, dtype=torch.float32).expand(b, 1, 1).reshape(b, 1)

    us: list[Tensor] = []
    vs: list[Tensor] = []

    def add(u: Tensor | float, v: Tensor | float) -> None:
        us.append(col(u))
        vs.append(col(v))

    ju, jv = _jaw(g, v0, head_top)
    us.append(ju)
    vs.append(jv)

    hw = 1.25 * g["eye_w"]
    for side, order in ((-1.0, (1.0, 0.5, 0.0, -0.5, -1.0)), (1.0, (-1.0, -0.5, 0.0, 0.5, 1.0))):
        for s in order:  # s = +1 is the outer end
            u = side * (g["eye_dx"] + s * hw)
            add(u, brow_centre(u, g))

    for k in range(4):  # bridge, from between the eyes to the tip
        tip = g["nose_y"] - 0.015
        add(0.0, (g["eye_y"] + (tip - g["eye_y"]) * k / 3))
    for k, s in enumerate((-1.0, -0.5, 0.0, 0.5, 1.0)):
        drop = 0.006 if k == 2 else 0.0
        add((s * 0.8 * g["nose_w"]), (g["nose_y"] + 0.012 + drop))

    ew, eh, ey = g["eye_w"], g["eye_h"], g["eye_y"]
    lid = eh * math.sqrt(1.0 - 1.0 / 9.0)
    right_eye = ((-1, 0), (-1 / 3, -1), (1 / 3, -1), (1, 0), (1 / 3, 1), (-1 / 3, 1))
    left_eye = ((-1, 0), (-1 / 3, -1), (1 / 3, -1), (1, 0), (1 / 3, 1), (-1 / 3, 1))
    for centre, pts in ((-g["eye_dx"], right_eye), (g["eye_dx"], left_eye)):
        for du, dv in pts:
            dy = 0.0 if dv == 0 else dv * lid
            add((centre + du * ew), (ey + dy))

    mw = g["mouth_w"]

    def lip_point(s: float, part: str) -> None:
        u = s * mw
        line, prof = mouth_line(u, g), lip_profile(u, g)
        half_gap = 0.5 * g["mouth_gap"] * prof
        v = {
            "line": line,
            "top": line - half_gap - g["lip_up"] * prof,
            "bottom": line + half_gap + g["lip_lo"] * prof,
            "inner_top": line - half_gap,
            "inner_bottom": line + half_gap,
        }[part]
        add(u, v)

    lip_point(-1.0, "line")
    for s in (-2 / 3, -1 / 3, 0.0, 1 / 3, 2 / 3):
        lip_point(s, "top")
    lip_point(1.0, "line")
    for s in (2 / 3, 1 / 3, 0.0, -1 / 3, -2 / 3):
        lip_point(s, "bottom")
    lip_point(-0.9, "line")
    for s in (-1 / 3, 0.0, 1 / 3):
        lip_point(s, "inner_top")
    lip_point(0.9, "line")
    for s in (1 / 3, 0.0, -1 / 3):
        lip_point(s, "inner_bottom")

    u_all = torch.cat(us, dim=1)
    v_all = torch.cat(vs, dim=1)
    assert u_all.shape == (b, 68), u_all.shape
    return torch.stack([u_all, v_all], dim=-1)
