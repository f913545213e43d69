"""Anti-aliased batched 2D primitives: signed distances, pixel coverage and compositing.

Every function works on whole batches: coordinates are (B, H, W) tensors, shape parameters
(B, 1, 1). Coverage integrates a one-pixel box filter across an edge, so a shape whose size goes
to zero fades out continuously instead of leaving a half-covered line: that is what makes an
attribute at 0.5 look half-way and an attribute at 0 look absent.
"""

from __future__ import annotations

import torch
from torch import Tensor

Num = Tensor | float


def fill(d: Tensor, pw: Tensor) -> Tensor:
    """Coverage of the region d < 0, with d a signed distance in the units of the pixel width pw."""
    return (0.5 - d / pw).clamp(0.0, 1.0)


def band(lo: Num, hi: Num, x: Tensor, pw: Tensor) -> Tensor:
    """Coverage of the interval lo < x < hi by a pixel of width pw centred at x (exact, box filter).

    An empty interval (hi <= lo) covers nothing, so thin shapes vanish smoothly.
    """
    left = torch.maximum(torch.as_tensor(lo), x - 0.5 * pw)
    right = torch.minimum(torch.as_tensor(hi), x + 0.5 * pw)
    return ((right - left) / pw).clamp(0.0, 1.0)


def stroke(d: Tensor, width: Num, pw: Tensor) -> Tensor:
    """Coverage of a line of total width `width` along the zero set of distance d."""
    half = 0.5 * width
    return band(-half, half, d, pw)


def ellipse(u: Tensor, v: Tensor, cu: Num, cv: Num, a: Num, b: Num) -> Tensor:
    """Approximate signed distance to an ellipse (exact on the axes, good for mild eccentricity)."""
    r = torch.sqrt(((u - cu) / a) ** 2 + ((v - cv) / b) ** 2 + 1e-12)
    return (r - 1.0) * torch.minimum(torch.as_tensor(a), torch.as_tensor(b))


def superellipse(u: Tensor, v: Tensor, cu: Num, cv: Num, a: Num, b: Num, n: Num) -> Tensor:
    """Approximate signed distance to |x/a|^n + |y/b|^n = 1 (n = 2: an ellipse; larger: boxier)."""
    x = ((u - cu) / a).abs().clamp_min(1e-6)
    y = ((v - cv) / b).abs().clamp_min(1e-6)
    r = (x**n + y**n) ** (1.0 / n)
    return (r - 1.0) * torch.minimum(torch.as_tensor(a), torch.as_tensor(b))


def segment(u: Tensor, v: Tensor, p0: tuple[Num, Num], p1: tuple[Num, Num]) -> Tensor:
    """Distance to the segment p0-p1 (unsigned)."""
    du, dv = p1[0] - p0[0], p1[1] - p0[1]
    t = (((u - p0[0]) * du + (v - p0[1]) * dv) / (du * du + dv * dv + 1e-12)).clamp(0.0, 1.0)
    return torch.sqrt((u - p0[0] - t * du) ** 2 + (v - p0[1] - t * dv) ** 2 + 1e-12)


def over(img: Tensor, alpha: Tensor, color: Tensor) -> Tensor:
    """Composite `color` over `img` with per-pixel alpha (B, H, W); color (B, 3, 1, 1) or full."""
    return img + alpha.unsqueeze(1) * (color - img)


def rgb(r: float, g: float, b: float) -> Tensor:
    """A constant colour shaped to broadcast over (B, 3, H, W)."""
    return torch.tensor([r, g, b], dtype=torch.float32).view(1, 3, 1, 1)


def mix(c0: Tensor, c1: Tensor, t: Tensor) -> Tensor:
    """Linear interpolation between colours; t is (B, 1, 1) and broadcasts per image."""
    return c0 + t.unsqueeze(1) * (c1 - c0)


def hash_noise(u: Tensor, v: Tensor) -> Tensor:
    """Deterministic pseudo-random texture in [0, 1] attached to face coordinates."""
    x = torch.sin(u * 127.1 + v * 311.7) * 43758.5453
    return x - torch.floor(x)
