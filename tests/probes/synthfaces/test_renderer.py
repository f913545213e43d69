"""Each attribute acts where it should and grows with its intensity; rendering is deterministic."""

from __future__ import annotations

import pytest
import torch

from sia_audit.probes.synthfaces.attributes import ATTRIBUTES
from sia_audit.probes.synthfaces.params import IDENTITY_PARAMS, NUISANCE_PARAMS, sample_unit
from sia_audit.probes.synthfaces.renderer import render
from tests.probes.synthfaces.conftest import SIZE, box, neutral, sweep, to_px, upright

LEVELS = (0.0, 0.25, 0.5, 0.75, 1.0)
WHOLE = (-0.77, 0.77, -0.77, 0.77)
# Face-coordinate box (u0, u1, v0, v1) where each attribute may act; WHOLE marks global ones.
REGIONS = {
    "Bald": WHOLE,  # long hair shortens too
    "Bangs": (-0.45, 0.45, -0.50, -0.08),
    "Black_Hair": WHOLE,
    "Blond_Hair": WHOLE,
    "Brown_Hair": WHOLE,
    "Bushy_Eyebrows": (-0.34, 0.34, -0.24, -0.04),
    "Eyeglasses": (-0.52, 0.52, -0.22, 0.12),
    "Male": WHOLE,
    "Mouth_Slightly_Open": (-0.24, 0.24, 0.18, 0.44),
    "Mustache": (-0.26, 0.26, 0.14, 0.38),
    "No_Beard": (-0.58, 0.58, 0.08, 0.72),
    "Pale_Skin": WHOLE,
    "Young": WHOLE,
    "Smiling": (-0.32, 0.32, 0.12, 0.46),
    "Wearing_Lipstick": (-0.24, 0.24, 0.18, 0.44),
}


def lum(x: torch.Tensor) -> torch.Tensor:
    return (0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2]).mean()


def strictly_increasing(xs: list[float]) -> bool:
    return all(b > a for a, b in zip(xs, xs[1:], strict=False))


def test_regions_cover_every_attribute() -> None:
    assert set(REGIONS) == set(ATTRIBUTES)


@pytest.mark.parametrize("name", ATTRIBUTES)
def test_attribute_acts_in_its_region_and_grows_with_intensity(identities, name: str) -> None:
    # No_Beard is "on" in the neutral face; sweep the beard from its absence instead.
    base = {"No_Beard": 1.0} if name != "No_Beard" else {}
    levels = LEVELS if name != "No_Beard" else tuple(1.0 - t for t in LEVELS)
    renders = sweep(identities, name, levels, **base)
    ref = renders[0].images
    region = REGIONS[name]
    change = []
    for r in renders[1:]:
        diff = (r.images - ref).abs()
        change.append(float(box(diff, *region).mean()))
    assert strictly_increasing(change), f"{name}: change inside its region {change}"
    assert change[-1] > 0.005, f"{name} barely changes the image: {change[-1]:.4f}"
    if region is not WHOLE:
        diff = (renders[-1].images - ref).abs()
        inside = float(box(diff, *region).sum())
        assert inside / float(diff.sum()) > 0.98, f"{name} acts outside its region"


def test_lipstick_reddens_the_lips(identities) -> None:
    redness = []
    for r in sweep(identities, "Wearing_Lipstick", LEVELS):
        lips = box(r.images, -0.08, 0.08, 0.24, 0.36)
        redness.append(float((lips[:, 0] - lips[:, 1]).mean()))
    assert strictly_increasing(redness)


def test_eyeglasses_put_dark_frame_pixels_around_the_eyes(identities) -> None:
    bridge_dark, no_glasses_dark = [], None
    for t, r in zip(LEVELS, sweep(identities, "Eyeglasses", LEVELS), strict=True):
        band = box(r.images, -0.45, 0.45, -0.16, 0.08)
        dark = float((band.max(dim=1).values < 0.3).float().mean())
        bridge_dark.append(1.0 - float(lum(box(r.images, -0.03, 0.03, -0.12, -0.02))))
        if t == 0.0:
            no_glasses_dark = dark
    assert strictly_increasing(bridge_dark)
    assert dark > no_glasses_dark + 0.01  # frame pixels appear


def test_bald_makes_hair_vanish_on_top(identities) -> None:
    renders = sweep(identities, "Bald", LEVELS)
    cheek = box(renders[0].images, -0.25, -0.2, 0.05, 0.1).mean(dim=(2, 3), keepdim=True)
    skin_distance = [
        float((box(r.images, -0.12, 0.12, -0.60, -0.50) - cheek).abs().mean()) for r in renders
    ]
    assert all(b < a for a, b in zip(skin_distance, skin_distance[1:], strict=False))
    assert skin_distance[-1] < 0.5 * skin_distance[0]


@pytest.mark.parametrize(
    ("name", "colour"),
    [
        ("Black_Hair", (0.07, 0.06, 0.06)),
        ("Blond_Hair", (0.93, 0.80, 0.45)),
        ("Brown_Hair", (0.40, 0.23, 0.11)),
    ],
)
def test_hair_colour_moves_towards_its_colour(identities, name: str, colour) -> None:
    target = torch.tensor(colour).view(1, 3, 1, 1)
    dist = [
        float(
            (box(r.images, -0.12, 0.12, -0.68, -0.60).mean(dim=(2, 3), keepdim=True) - target)
            .abs()
            .mean()
        )
        for r in sweep(identities, name, LEVELS)
    ]
    assert all(b < a for a, b in zip(dist, dist[1:], strict=False)), dist


def test_pale_skin_lightens_the_cheeks(identities) -> None:
    cheeks = [
        float(lum(box(r.images, -0.28, -0.2, 0.02, 0.1)))
        for r in sweep(identities, "Pale_Skin", LEVELS)
    ]
    assert strictly_increasing(cheeks)


def test_young_removes_forehead_wrinkles(identities) -> None:
    texture = [
        float(box(r.images, -0.12, 0.12, -0.33, -0.18).std(dim=(2, 3)).mean())
        for r in sweep(identities, "Young", LEVELS)
    ]
    assert all(b < a for a, b in zip(texture, texture[1:], strict=False)), texture


def test_smiling_lifts_the_mouth_corners(identities) -> None:
    corner_y = [
        float(r.landmarks[:, [48, 54], 1].mean()) for r in sweep(identities, "Smiling", LEVELS)
    ]
    assert all(b < a for a, b in zip(corner_y, corner_y[1:], strict=False))


def test_mouth_open_parts_the_inner_lips(identities) -> None:
    renders = sweep(identities, "Mouth_Slightly_Open", LEVELS)
    gap = [float((r.landmarks[:, 66, 1] - r.landmarks[:, 62, 1]).mean()) for r in renders]
    assert gap[0] == pytest.approx(0.0, abs=1e-4)
    assert strictly_increasing(gap)


def test_male_widens_the_jaw(identities) -> None:
    width = [
        float((r.landmarks[:, 12, 0] - r.landmarks[:, 4, 0]).mean())
        for r in sweep(identities, "Male", LEVELS)
    ]
    assert strictly_increasing(width)


def test_render_is_deterministic_and_batch_independent(identities) -> None:
    g = torch.Generator().manual_seed(5)
    nu = sample_unit(6, NUISANCE_PARAMS, g)
    attrs = torch.rand(6, len(ATTRIBUTES), generator=g)
    a = render(identities, nu, attrs, 64)
    b = render(identities, nu, attrs, 64)
    assert torch.equal(a.images, b.images) and torch.equal(a.landmarks, b.landmarks)
    single = render(identities[2:3], nu[2:3], attrs[2:3], 64)
    assert torch.allclose(single.images[0], a.images[2], atol=1e-6)
    assert a.images.shape == (6, 3, 64, 64) and a.landmarks.shape == (6, 68, 2)
    assert float(a.images.min()) >= 0.0 and float(a.images.max()) <= 1.0


def test_render_rejects_wrong_shapes(identities) -> None:
    with pytest.raises(ValueError, match="attrs"):
        render(identities, upright(6), torch.zeros(6, 3), 64)


def test_render_sizes_agree(identities) -> None:
    """128 px is the same picture as 64 px at twice the resolution."""
    attrs = neutral(6, Eyeglasses=1.0, Smiling=1.0)
    small = render(identities, upright(6), attrs, 64)
    large = render(identities, upright(6), attrs, SIZE)
    pooled = torch.nn.functional.avg_pool2d(large.images, 2)
    assert float((pooled - small.images).abs().mean()) < 0.02
    assert torch.allclose(large.landmarks, 2 * small.landmarks, atol=1e-4)
    assert to_px(0.0) == SIZE // 2


@pytest.mark.parametrize("size", [64, 128])
def test_windowed_layers_equal_full_canvas_rendering(monkeypatch, size: int) -> None:
    """Layers are computed in windows for speed; extreme nuisances must not clip a feature."""
    from sia_audit.probes.synthfaces import renderer

    g = torch.Generator().manual_seed(11)
    n = 48
    ident = sample_unit(n, IDENTITY_PARAMS, g)
    ident[: n // 2] = (ident[: n // 2] > 0.5).float()  # half of them at the parameter extremes
    nu = (sample_unit(n, NUISANCE_PARAMS, g) > 0.5).float()  # extreme shift, roll, scale
    attrs = (torch.rand(n, len(ATTRIBUTES), generator=g) > 0.5).float()
    fast = render(ident, nu, attrs, size).images
    monkeypatch.setattr(renderer, "_window", lambda size, box: (slice(None), slice(None)))
    full = render(ident, nu, attrs, size).images
    assert torch.allclose(fast, full, atol=1e-6), float((fast - full).abs().max())
