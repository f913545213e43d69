"""Fixtures for the renderer tests: a few identities seen upright, so face boxes map to pixels."""

from __future__ import annotations

import pytest
import torch

from sia_audit.probes.synthfaces.attributes import ATTRIBUTES, INDEX
from sia_audit.probes.synthfaces.params import IDENTITY_PARAMS, NUISANCE_RANGES, sample_unit
from sia_audit.probes.synthfaces.renderer import ZOOM, render

SIZE = 128


def upright(n: int) -> torch.Tensor:
    """Nuisance vectors for no shift, no roll, scale 1 and no lighting gradient."""
    nu = torch.zeros(n, len(NUISANCE_RANGES))
    for j, (name, (lo, hi)) in enumerate(NUISANCE_RANGES.items()):
        target = {"shift_x": 0.0, "shift_y": 0.0, "roll": 0.0, "scale": 1.0, "light_angle": 0.0}
        nu[:, j] = (target.get(name, lo) - lo) / (hi - lo)
    return nu


def neutral(n: int, **overrides: float) -> torch.Tensor:
    """Young, clean-shaven faces with nothing else on, plus overrides."""
    a = torch.zeros(n, len(ATTRIBUTES))
    a[:, INDEX["Young"]] = 1.0
    a[:, INDEX["No_Beard"]] = 1.0
    for name, value in overrides.items():
        a[:, INDEX[name]] = value
    return a


def to_px(u: float) -> int:
    """Face coordinate -> pixel index for an upright face at SIZE."""
    return int(round((u * ZOOM + 1.0) * 0.5 * SIZE))


def box(img: torch.Tensor, u0: float, u1: float, v0: float, v1: float) -> torch.Tensor:
    """The pixels of a face-coordinate box, (B, 3, h, w)."""
    return img[..., to_px(v0) : to_px(v1), to_px(u0) : to_px(u1)]


@pytest.fixture(scope="session")
def identities() -> torch.Tensor:
    return sample_unit(6, IDENTITY_PARAMS, torch.Generator().manual_seed(123))


def sweep(identities: torch.Tensor, name: str, levels, **base: float) -> list:
    """Render each identity with attribute `name` at each level; a list of Render, one per level."""
    n = identities.shape[0]
    out = []
    for t in levels:
        attrs = neutral(n, **base)
        attrs[:, INDEX[name]] = t
        out.append(render(identities, upright(n), attrs, SIZE))
    return out
