"""The synthfaces renderer: (identity, nuisance, attributes) -> RGB image and 68 iBUG landmarks.

Batched and deterministic: every layer is a handful of tensor operations over (B, H, W), so a
batch of faces costs little more than one. The same identity and nuisance with other attributes
render the same person edited, which is what makes a generator's edits checkable against truth.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import torch
from torch import Tensor

from sia_audit.probes.synthfaces.attributes import ATTRIBUTES
from sia_audit.probes.synthfaces.landmarks import face_landmarks
from sia_audit.probes.synthfaces.layers import HEAD_TOP, LAYERS, V0, Face, background
from sia_audit.probes.synthfaces.params import (
    IDENTITY_PARAMS,
    NUISANCE_PARAMS,
    NUISANCE_RANGES,
    geometry,
    unpack,
)

ZOOM = 1.3  # canvas units per face unit: frames head and neck like an aligned CelebA crop


@dataclass(frozen=True)
class Render:
    """A rendered batch: images (B, 3, S, S) in [0, 1] and landmarks (B, 68, 2) in pixels.

    Landmark pixel units: origin at the image's top-left corner, pixel i covers [i, i + 1).
    """

    images: Tensor
    landmarks: Tensor


def _check(identity: Tensor, nuisance: Tensor, attrs: Tensor, size: int) -> None:
    n = identity.shape[0]
    if identity.shape != (n, len(IDENTITY_PARAMS)):
        raise ValueError(
            f"identity must be (B, {len(IDENTITY_PARAMS)}), got {tuple(identity.shape)}"
        )
    if nuisance.shape != (n, len(NUISANCE_PARAMS)):
        raise ValueError(
            f"nuisance must be (B, {len(NUISANCE_PARAMS)}), got {tuple(nuisance.shape)}"
        )
    if attrs.shape != (n, len(ATTRIBUTES)):
        raise ValueError(f"attrs must be (B, {len(ATTRIBUTES)}), got {tuple(attrs.shape)}")
    if size < 16:
        raise ValueError(f"size must be at least 16, got {size}")


def render(identity: Tensor, nuisance: Tensor, attrs: Tensor, size: int = 64) -> Render:
    """Render a batch of faces. Inputs are unit-cube vectors and attributes in [0, 1]."""
    _check(identity, nuisance, attrs, size)
    identity = identity.float()
    nuisance = nuisance.float()
    attrs = attrs.float().clamp(0.0, 1.0)
    g = geometry(identity, attrs)
    nu = unpack(nuisance, NUISANCE_RANGES)

    # Canvas pixel centres in [-1, 1]; face coordinates are the inverse nuisance transform.
    c = (torch.arange(size, dtype=torch.float32) * 2.0 + 1.0) / size - 1.0
    cx, cy = c.view(1, 1, -1), c.view(1, -1, 1)
    cos, sin = torch.cos(nu["roll"]), torch.sin(nu["roll"])
    px, py = cx - nu["shift_x"], cy - nu["shift_y"]
    zoom = nu["scale"] * ZOOM
    u = (cos * px + sin * py) / zoom
    v = (-sin * px + cos * py) / zoom
    pw = 2.0 / (size * zoom)  # one pixel in face units

    f = Face(g, attrs)
    img = background(g, cx, cy, size)
    for layer, face_box in LAYERS:
        rows, cols = _window(size, face_box)
        img[..., rows, cols] = layer(
            img[..., rows, cols], u[:, rows, cols], v[:, rows, cols], pw, f
        )
    shade = 1.0 + nu["light"] * (
        torch.cos(nu["light_angle"]) * cx + torch.sin(nu["light_angle"]) * cy
    )
    img = (img * shade.unsqueeze(1)).clamp(0.0, 1.0)

    landmarks = _landmark_pixels(g, nu, size)
    return Render(images=img.contiguous(), landmarks=landmarks)


def _window(size: int, face_box: tuple[float, float, float, float] | None) -> tuple[slice, slice]:
    """Pixel rows and columns that a face-coordinate box can reach under any allowed nuisance.

    Layers are computed only there: most features are small, and this is where the renderer
    spends its time. A test checks that windowed and full-canvas rendering agree.
    """
    if face_box is None:
        return slice(None), slice(None)
    return _window_cached(size, face_box)


@functools.lru_cache(maxsize=64)
def _window_cached(size: int, face_box: tuple[float, float, float, float]) -> tuple[slice, slice]:
    u0, u1, v0, v1 = face_box
    (s_lo, s_hi), (r_lo, r_hi) = NUISANCE_RANGES["scale"], NUISANCE_RANGES["roll"]
    shift = max(abs(x) for x in (*NUISANCE_RANGES["shift_x"], *NUISANCE_RANGES["shift_y"]))
    xs, ys = [], []
    for zoom in (s_lo * ZOOM, s_hi * ZOOM):
        for roll in (r_lo, 0.0, r_hi):
            c, s = math.cos(roll), math.sin(roll)
            for u, v in ((u0, v0), (u0, v1), (u1, v0), (u1, v1)):
                xs.append(zoom * (c * u - s * v))
                ys.append(zoom * (s * u + c * v))
    margin = 2  # pixels: the arc between roll extremes and the anti-aliasing ramp

    def pixels(lo: float, hi: float) -> slice:
        a = math.floor((lo - shift + 1.0) * 0.5 * size) - margin
        b = math.ceil((hi + shift + 1.0) * 0.5 * size) + margin
        return slice(max(a, 0), min(b, size))

    return pixels(min(ys), max(ys)), pixels(min(xs), max(xs))


def render_landmarks(identity: Tensor, nuisance: Tensor, attrs: Tensor, size: int = 64) -> Tensor:
    """The landmarks `render` would report, (B, 68, 2) pixels, without drawing anything."""
    _check(identity, nuisance, attrs, size)
    g = geometry(identity.float(), attrs.float().clamp(0.0, 1.0))
    return _landmark_pixels(g, unpack(nuisance.float(), NUISANCE_RANGES), size)


def _landmark_pixels(g: dict[str, Tensor], nu: dict[str, Tensor], size: int) -> Tensor:
    pts = face_landmarks(g, v0=V0, head_top=HEAD_TOP)  # (B, 68, 2) face coordinates
    zoom = (nu["scale"] * ZOOM).view(-1, 1)
    cr, sr = torch.cos(nu["roll"]).view(-1, 1), torch.sin(nu["roll"]).view(-1, 1)
    x = zoom * (cr * pts[..., 0] - sr * pts[..., 1]) + nu["shift_x"].view(-1, 1)
    y = zoom * (sr * pts[..., 0] + cr * pts[..., 1]) + nu["shift_y"].view(-1, 1)
    return torch.stack([(x + 1.0) * 0.5 * size, (y + 1.0) * 0.5 * size], dim=-1)
