"""Per-image PSNR and SSIM (Wang et al. 2004) on [0, 1] RGB, and their means with intervals."""

from __future__ import annotations

import torch
from pytorch_msssim import ssim as _msssim_ssim
from torch import Tensor

from sia_audit.metrics.bootstrap import DEFAULT, BootstrapConfig, mean_estimate
from sia_audit.metrics.estimate import Estimate

PSNR_CAP_DB = 100.0  # identical images have infinite PSNR; reports need finite JSON numbers
SSIM_WINDOW = 11
SSIM_SIGMA = 1.5
_RANGE_SLACK = 1e-6  # float rounding in a generator's output may overshoot [0, 1] by a hair
# A pixel belongs to an edit's region when the true edit moves it by more than one grey level.
REGION_THRESHOLD = 1.0 / 255.0


def edit_region(x: Tensor, truth: Tensor) -> Tensor:
    """(B, 1, H, W) mask (in x's dtype) of the pixels where a true edit differs from x."""
    return ((truth - x).abs().amax(dim=1, keepdim=True) > REGION_THRESHOLD).to(x.dtype)


def _check_pair(x: Tensor, y: Tensor) -> tuple[Tensor, Tensor]:
    if x.shape != y.shape:
        raise ValueError(f"images must have one shape, got {tuple(x.shape)} and {tuple(y.shape)}")
    if x.dim() != 4 or x.shape[1] != 3:
        raise ValueError(f"images must be RGB (N, 3, H, W), got {tuple(x.shape)}")
    a = x.detach().to("cpu", torch.float64)
    b = y.detach().to("cpu", torch.float64)
    for t in (a, b):
        if not torch.isfinite(t).all():
            raise ValueError("images hold non-finite values (NaN or inf)")
        if t.numel() and (t.min() < -_RANGE_SLACK or t.max() > 1.0 + _RANGE_SLACK):
            raise ValueError("images must be in [0, 1]; got values outside it")
    return a, b


def psnr(x: Tensor, y: Tensor, *, cap_db: float = PSNR_CAP_DB) -> Tensor:
    """Per-image PSNR in dB (N,), data range 1, capped at `cap_db` (identical images: the cap)."""
    a, b = _check_pair(x, y)
    mse = (a - b).pow(2).flatten(1).mean(dim=1)
    # 10*log10(1/mse) with mse = 0 is +inf; clamping mse first keeps it finite and exact at the cap.
    floor = 10.0 ** (-cap_db / 10.0)
    return (-10.0 * torch.log10(mse.clamp_min(floor))).clamp_max(cap_db)


def ssim(x: Tensor, y: Tensor) -> Tensor:
    """Per-image SSIM (N,): Gaussian window 11, sigma 1.5, K = (0.01, 0.03), data range 1.

    Computed by pytorch-msssim in float64 over the valid region (no padding), averaged over the
    three channels. Images smaller than the window are refused rather than smoothed partially.
    """
    a, b = _check_pair(x, y)
    if min(a.shape[-2:]) < SSIM_WINDOW:
        raise ValueError(
            f"SSIM needs images of at least {SSIM_WINDOW}x{SSIM_WINDOW} pixels (its Gaussian "
            f"window), got {a.shape[-2]}x{a.shape[-1]}"
        )
    if a.shape[0] == 0:
        return torch.zeros(0, dtype=torch.float64)
    return _msssim_ssim(a, b, data_range=1.0, size_average=False, win=_window(a.shape[1]))


def _window(channels: int) -> Tensor:
    # pytorch-msssim builds its kernel in float32; a float64 one keeps SSIM exact to ~1e-12 where
    # the variances (E[x^2] - mu^2) cancel, so it matches scikit-image to rounding, not to 1e-6.
    coords = torch.arange(SSIM_WINDOW, dtype=torch.float64) - SSIM_WINDOW // 2
    g = torch.exp(-(coords**2) / (2.0 * SSIM_SIGMA**2))
    return (g / g.sum()).view(1, 1, 1, -1).repeat(channels, 1, 1, 1)


def mean_psnr(
    values: Tensor,
    *,
    images: str = "adversaries",
    against: str = "x0",
    cap_db: float = PSNR_CAP_DB,
    config: BootstrapConfig = DEFAULT,
) -> Estimate:
    """Mean of per-image PSNR values (N,), e.g. adversary against x0 or against G(x0, a0)."""
    meaning = (
        f"Mean PSNR (dB) of the {images} against {against} over {values.numel()} probes "
        f"(data range 1, each image capped at {cap_db:g} dB so identical images stay finite)"
    )
    return mean_estimate(values, meaning, config)


def mean_ssim(
    values: Tensor,
    *,
    images: str = "adversaries",
    against: str = "x0",
    config: BootstrapConfig = DEFAULT,
) -> Estimate:
    """Mean of per-image SSIM values (N,)."""
    meaning = (
        f"Mean SSIM of the {images} against {against} over {values.numel()} probes "
        f"(Wang et al. 2004: Gaussian window {SSIM_WINDOW}, sigma {SSIM_SIGMA}, RGB in [0, 1], "
        "valid region, channel mean)"
    )
    return mean_estimate(values, meaning, config)
