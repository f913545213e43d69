"""PSNR and SSIM: known values, and SSIM checked against scikit-image (the same family)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from skimage.metrics import structural_similarity

from sia_audit.metrics import PSNR_CAP_DB, BootstrapConfig, mean_psnr, mean_ssim, psnr, ssim
from sia_audit.probes.synthfaces.attributes import ATTRIBUTES
from sia_audit.probes.synthfaces.params import IDENTITY_PARAMS, NUISANCE_PARAMS, sample_unit
from sia_audit.probes.synthfaces.renderer import render


def reference_ssim(x: torch.Tensor, y: torch.Tensor) -> list[float]:
    """scikit-image with the settings that match Wang et al. 2004."""
    return [
        structural_similarity(
            a.numpy(),
            b.numpy(),
            data_range=1.0,
            channel_axis=0,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
        )
        for a, b in zip(x.double(), y.double(), strict=True)
    ]


def faces(n: int, size: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    identity = sample_unit(n, IDENTITY_PARAMS, gen)
    nuisance = sample_unit(n, NUISANCE_PARAMS, gen)
    attrs = torch.rand(n, len(ATTRIBUTES), generator=gen)
    return render(identity, nuisance, attrs, size).images


def test_psnr_known_values() -> None:
    x = torch.full((2, 3, 16, 16), 0.5, dtype=torch.float64)
    y = x.clone()
    y[0] += 0.1  # uniform error 0.1: MSE 0.01, 20 dB
    y[1, :, :8] += 0.2  # error 0.2 on half the pixels: MSE 0.02, 10*log10(50) dB
    assert psnr(x, y).tolist() == pytest.approx([20.0, 10 * np.log10(50)])
    same = psnr(x, x)
    assert same.tolist() == [PSNR_CAP_DB, PSNR_CAP_DB]
    assert "capped at 100 dB" in mean_psnr(same).definition


@pytest.mark.parametrize("size", [64, 128])
def test_ssim_matches_scikit_image_on_noise_and_faces(size: int) -> None:
    gen = torch.Generator().manual_seed(size)
    x = torch.rand(2, 3, size, size, generator=gen)
    y = (x + 0.2 * torch.randn(x.shape, generator=gen)).clamp(0, 1)
    clean = faces(2, size, seed=size)
    noisy = (clean + 0.05 * torch.randn(clean.shape, generator=gen)).clamp(0, 1)
    for a, b in ((x, y), (clean, noisy)):
        ours = ssim(a, b)
        assert ours.dtype == torch.float64 and ours.shape == (2,)
        # Same family, float64 windows on both sides: equal to rounding, well inside 1e-4.
        assert ours.tolist() == pytest.approx(reference_ssim(a, b), abs=1e-9)


def test_ssim_identical_is_one_and_small_images_are_refused() -> None:
    x = faces(2, 64, seed=0)
    assert ssim(x, x).tolist() == pytest.approx([1.0, 1.0], abs=1e-12)
    with pytest.raises(ValueError, match="at least 11x11"):
        ssim(torch.rand(1, 3, 8, 8), torch.rand(1, 3, 8, 8))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        ssim(x * 2 - 1, x)


def test_means_carry_intervals() -> None:
    values = torch.linspace(0.8, 1.0, 20)
    est = mean_ssim(values, against="G(x0, a0)", config=BootstrapConfig(resamples=200))
    assert est.value == pytest.approx(0.9) and est.low < est.value < est.high
    assert "G(x0, a0)" in est.definition and "sigma 1.5" in est.definition
