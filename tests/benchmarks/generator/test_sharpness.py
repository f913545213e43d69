"""The sharpness benchmark's arithmetic: blur, and where a decreasing curve crosses a level."""

from __future__ import annotations

import math

import torch

from benchmarks.generator.sharpness import blur, blur_curve, crossing
from sia_audit.generators.training.evaluate import region_psnr


def _edges(n: int = 4) -> torch.Tensor:
    """Images with hard-edged squares: all edges, like a small feature."""
    img = torch.zeros(n, 3, 32, 32)
    for i in range(n):
        img[i, :, 8 + i : 16 + i, 10:18] = 1.0
    return img


def test_blur_keeps_the_mean_and_softens_edges() -> None:
    img = _edges()
    soft = blur(img, 1.0)
    assert torch.allclose(soft.mean(), img.mean(), atol=1e-3)
    assert 0.0 < float(soft[0, 0, 8, 12]) < 1.0  # an edge pixel is now in between


def test_a_blurred_image_is_found_at_its_own_sigma() -> None:
    truth = _edges()
    mask = torch.ones(4, 1, 32, 32)
    sigmas = [0.2, 0.4, 0.6, 0.8, 1.0, 1.2]
    curve = blur_curve(truth, mask, sigmas)
    assert all(a > b for a, b in zip(curve, curve[1:], strict=False))  # more blur, lower PSNR
    g_like = region_psnr(blur(truth, 0.7), truth, mask)
    assert 0.6 < crossing(sigmas, curve, g_like) < 0.8


def test_crossing_outside_the_ladder() -> None:
    sigmas, scores = [0.5, 1.0], [30.0, 20.0]
    assert crossing(sigmas, scores, 25.0) == 0.75
    assert crossing(sigmas, scores, 35.0) == 0.0  # even the least blur scores below
    assert math.isinf(crossing(sigmas, scores, 10.0))  # the most blur still scores above
