"""Held-out evaluation of a synthfaces generator against the renderer's true edits (PSNR)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from sia_audit.generators.attgan import AttGANGenerator
from sia_audit.generators.flips import flipped
from sia_audit.metrics.image_quality import edit_region
from sia_audit.probes.synthfaces.attributes import ATTRIBUTES
from sia_audit.probes.synthfaces.params import IDENTITY_PARAMS, NUISANCE_PARAMS, sample_unit
from sia_audit.probes.synthfaces.renderer import render
from sia_audit.probes.synthfaces.sampler import AttributeSampler

# Held-out faces come from this seed, never used by a training run (those use seeds < 10^6).
HELD_OUT_SEED = 20_261_122


def psnr(a: Tensor, b: Tensor) -> Tensor:
    """Per-image PSNR in dB of images in [0, 1] (peak 1), shape (B,)."""
    mse = (a - b).pow(2).flatten(1).mean(1).clamp_min(1e-10)
    return -10 * torch.log10(mse)


def mean_psnr(a: Tensor, b: Tensor) -> float:
    """PSNR of the mean squared error over the whole set (not the mean of per-image PSNRs)."""
    mse = (a - b).pow(2).mean().clamp_min(1e-10)
    return float(-10 * torch.log10(mse))


@dataclass(frozen=True)
class HeldOut:
    """Held-out faces: identity, nuisance and label-like source attributes, plus renders."""

    identity: Tensor
    nuisance: Tensor
    a: Tensor
    x: Tensor


def held_out(n: int, size: int = 64, seed: int = HELD_OUT_SEED) -> HeldOut:
    gen = torch.Generator().manual_seed(seed)
    identity = sample_unit(n, IDENTITY_PARAMS, gen)
    nuisance = sample_unit(n, NUISANCE_PARAMS, gen)
    _, a = AttributeSampler().sample(n, gen)
    return HeldOut(identity, nuisance, a, render(identity, nuisance, a, size).images)


@dataclass(frozen=True)
class Figures:
    """PSNRs (dB) of a generator on held-out faces; see docs/generator.md for definitions."""

    n: int
    reconstruction: float
    flip: float
    random: float
    flip_by_attr: dict[str, float]
    baseline_by_attr: dict[str, float]
    flip_baseline: float
    random_baseline: float
    # PSNR of each flip inside its own region: the pixels the true edit changes (> 1/255).
    region_by_attr: dict[str, float]
    region_pixels_by_attr: dict[str, float]  # mean region size per face
    # PSNR in the same region of G(truth, a') against the truth: what G scores there when its
    # input already shows the edit. Above `region_by_attr`, the decoder can draw those pixels
    # and the shortfall is the edit's.
    region_ceiling_by_attr: dict[str, float]

    def gain(self, name: str) -> float:
        """How much G's flip beats copying the input, whole image, in dB."""
        return self.flip_by_attr[name] - self.baseline_by_attr[name]


@torch.no_grad()
def generate(g: AttGANGenerator, x: Tensor, a: Tensor, batch: int = 64) -> Tensor:
    """G(x, a) in batches, without gradients."""
    return torch.cat([g(x[i : i + batch], a[i : i + batch]) for i in range(0, len(x), batch)])


@torch.no_grad()
def evaluate(g: AttGANGenerator, data: HeldOut, batch: int = 64) -> Figures:
    """Reconstruction, single-attribute flips (each k -> 1 - a_k) and random continuous edits."""
    size = g.image_size
    rec = generate(g, data.x, data.a, batch)
    flips, bases, regions, ceilings, region_px = {}, {}, {}, {}, {}
    truths_all, outs_all = [], []
    for k, name in enumerate(ATTRIBUTES):
        b = flipped(data.a, k, ATTRIBUTES)
        truth = render(data.identity, data.nuisance, b, size).images
        out = generate(g, data.x, b, batch)
        flips[name] = mean_psnr(out, truth)
        bases[name] = mean_psnr(data.x, truth)
        mask = edit_region(data.x, truth)
        regions[name] = region_psnr(out, truth, mask)
        ceilings[name] = region_psnr(generate(g, truth, b, batch), truth, mask)
        count = float(mask.sum()) * 3
        region_px[name] = count / 3 / len(data.x)
        truths_all.append(truth)
        outs_all.append(out)
    gen = torch.Generator().manual_seed(HELD_OUT_SEED + 1)
    b = torch.rand(data.a.shape, generator=gen)
    truth = render(data.identity, data.nuisance, b, size).images
    out = generate(g, data.x, b, batch)
    return Figures(
        n=len(data.x),
        reconstruction=mean_psnr(rec, data.x),
        flip=mean_psnr(torch.cat(outs_all), torch.cat(truths_all)),
        random=mean_psnr(out, truth),
        flip_by_attr=flips,
        baseline_by_attr=bases,
        flip_baseline=mean_psnr(data.x.repeat(len(ATTRIBUTES), 1, 1, 1), torch.cat(truths_all)),
        random_baseline=mean_psnr(data.x, truth),
        region_by_attr=regions,
        region_pixels_by_attr=region_px,
        region_ceiling_by_attr=ceilings,
    )


def region_psnr(out: Tensor, truth: Tensor, mask: Tensor) -> float:
    """PSNR over the masked pixels of the whole set (mask (B, 1, H, W) of 0/1), capped at
    100 dB like `mean_psnr`; NaN when the mask is empty."""
    count = float(mask.sum()) * out.shape[1]
    if count == 0:
        return float("nan")
    mse = max(float(((out - truth).pow(2) * mask).sum()) / count, 1e-10)
    return float(-10 * torch.log10(torch.tensor(mse)))
