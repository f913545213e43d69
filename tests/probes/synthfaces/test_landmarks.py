"""The 68 landmarks fall on the rendered features, and move with the face."""

from __future__ import annotations

import torch

from sia_audit.probes.synthfaces.params import IDENTITY_PARAMS, NUISANCE_PARAMS, sample_unit
from sia_audit.probes.synthfaces.renderer import render
from tests.probes.synthfaces.conftest import SIZE, neutral, upright

SKIN = IDENTITY_PARAMS.index("skin")


def pixel(images: torch.Tensor, xy: torch.Tensor) -> torch.Tensor:
    """Colours (B, 3) at landmark positions xy (B, 2) in pixel units."""
    x = xy[:, 0].floor().long().clamp(0, images.shape[-1] - 1)
    y = xy[:, 1].floor().long().clamp(0, images.shape[-2] - 1)
    return images[torch.arange(images.shape[0]), :, y, x]


def skin_mask(
    identities: torch.Tensor, nuisance: torch.Tensor, attrs: torch.Tensor
) -> torch.Tensor:
    """Pixels whose colour follows the skin tone: render twice with two tones and compare."""
    light, dark = identities.clone(), identities.clone()
    light[:, SKIN], dark[:, SKIN] = 0.0, 1.0
    a = render(light, nuisance, attrs, SIZE).images
    b = render(dark, nuisance, attrs, SIZE).images
    return (a - b).abs().sum(dim=1) > 0.15


def step(xy: torch.Tensor, towards: torch.Tensor, pixels: float) -> torch.Tensor:
    d = towards - xy
    return xy + pixels * d / d.norm(dim=-1, keepdim=True)


def faces(n: int = 8, shaken: bool = False):
    g = torch.Generator().manual_seed(7)
    ident = sample_unit(n, IDENTITY_PARAMS, g)
    ident[:, IDENTITY_PARAMS.index("hair_len")] = 0.0  # keep long hair off the jaw line
    nu = sample_unit(n, NUISANCE_PARAMS, g) if shaken else upright(n)
    return ident, nu


def test_landmarks_have_the_ibug_shape() -> None:
    ident, nu = faces()
    lm = render(ident, nu, neutral(8), SIZE).landmarks
    assert lm.shape == (8, 68, 2)
    # Subject's right (image left) comes first: jaw 0 left of jaw 16, eye 36 left of eye 45.
    assert bool((lm[:, 0, 0] < lm[:, 16, 0]).all()) and bool((lm[:, 36, 0] < lm[:, 45, 0]).all())
    assert bool((lm[:, 8, 1] > lm[:, 57, 1]).all())  # chin below the lower lip
    assert bool((lm[:, 19, 1] < lm[:, 37, 1]).all())  # brow above the eye
    assert bool((lm[:, 30, 1] < lm[:, 51, 1]).all())  # nose tip above the upper lip


def check_features(shaken: bool) -> None:
    ident, nu = faces(shaken=shaken)
    attrs = neutral(8)
    r = render(ident, nu, attrs, SIZE)
    img, lm = r.images, r.landmarks
    # Eyes: two pixels inside each outer corner is the white of the eye (bright, colourless).
    for corner, inner in ((36, 39), (45, 42)):
        c = pixel(img, step(lm[:, corner], lm[:, inner], 2.0))
        spread = c.max(dim=1).values - c.min(dim=1).values
        assert bool((c.min(dim=1).values > 0.6).all() and (spread < 0.06).all()), c
    # Eye centres are not skin.
    mask = skin_mask(ident, nu, attrs)
    for eye in (slice(36, 42), slice(42, 48)):
        centre = lm[:, eye].mean(dim=1)
        x, y = centre[:, 0].long(), centre[:, 1].long()
        assert not bool(mask[torch.arange(8), y, x].any())
    # Lips: two pixels inside each mouth corner is redder than the cheek.
    cheek = pixel(img, (lm[:, 3] + lm[:, 31]) / 2)
    for corner, other in ((48, 54), (54, 48)):
        lip = pixel(img, step(lm[:, corner], lm[:, other], 2.0))
        assert bool(((lip[:, 0] - lip[:, 1]) > (cheek[:, 0] - cheek[:, 1])).all())
    # Jaw: on the skin boundary where the jaw meets the background (points 2-4 and 12-14).
    centre = lm[:, 30:31]
    for k in (2, 3, 4, 12, 13, 14):
        inside = step(lm[:, k], centre[:, 0], 1.5)
        outside = step(lm[:, k], centre[:, 0], -1.5)
        idx = torch.arange(8)
        assert bool(mask[idx, inside[:, 1].long(), inside[:, 0].long()].all()), k
        assert not bool(mask[idx, outside[:, 1].long(), outside[:, 0].long()].any()), k


def test_landmarks_fall_on_rendered_features_upright() -> None:
    check_features(shaken=False)


def test_landmarks_follow_shift_roll_and_scale() -> None:
    check_features(shaken=True)
