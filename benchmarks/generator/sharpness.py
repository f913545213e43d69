"""What the region goal asks of a generator, in pixels of blur.

The shipped generator's flips of small features score 19-22 dB inside their own regions against
the 25 dB goal. This measures what that gap is: for every attribute, the Gaussian blur
(sigma, in pixels at 64 px) of the renderer's own true edit that scores the same region PSNR as
G's flip (G's "equivalent blur"), the blur the goal allows (the sigma at which the blurred truth
falls to 25 dB), and what shifting the truth by one pixel costs. A generator at the goal draws
every edge at least as sharply as the truth blurred by the allowed sigma.

    PYTHONPATH=. nice .venv/bin/python -m benchmarks.generator.sharpness [--faces 512]

Log: docs/logs/generator_sharpness.log. Seconds to minutes; nothing is cached or written but the
log.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
import torch.nn.functional as F  # noqa: N812
from torch import Tensor

from benchmarks import paths
from scripts.training import logger, shipped_generator
from sia_audit.generators.checkpoint import load_generator
from sia_audit.generators.flips import flipped
from sia_audit.generators.training.evaluate import HELD_OUT_SEED, generate, held_out, region_psnr
from sia_audit.metrics.image_quality import edit_region
from sia_audit.probes.synthfaces.attributes import ATTRIBUTES
from sia_audit.probes.synthfaces.renderer import render

LOG = paths.LOGS / "generator_sharpness.log"
REGION_GOAL = 25.0
SIGMAS = tuple(round(0.1 * i, 1) for i in range(1, 21))  # 0.1 .. 2.0 px


def blur(images: Tensor, sigma: float) -> Tensor:
    """Separable Gaussian blur of (B, C, H, W) images, sigma in pixels, edges replicated."""
    radius = max(1, int(3 * sigma + 0.5))
    t = torch.arange(-radius, radius + 1, dtype=images.dtype)
    w = torch.exp(-(t**2) / (2 * sigma * sigma))
    w = w / w.sum()
    c = images.shape[1]
    out = F.conv2d(
        F.pad(images, (radius, radius, 0, 0), mode="replicate"),
        w.view(1, 1, 1, -1).repeat(c, 1, 1, 1),
        groups=c,
    )
    return F.conv2d(
        F.pad(out, (0, 0, radius, radius), mode="replicate"),
        w.view(1, 1, -1, 1).repeat(c, 1, 1, 1),
        groups=c,
    )


def crossing(sigmas: Sequence[float], scores: Sequence[float], target: float) -> float:
    """The sigma at which `scores` (decreasing with sigma) falls to `target`, linearly
    interpolated; 0 if even the first sigma scores below it, inf if the last still scores
    above it."""
    if scores[0] < target:
        return 0.0
    for i in range(1, len(sigmas)):
        if scores[i] <= target:
            s0, s1, v0, v1 = sigmas[i - 1], sigmas[i], scores[i - 1], scores[i]
            return s0 + (s1 - s0) * (v0 - target) / (v0 - v1) if v0 != v1 else s1
    return float("inf")


def blur_curve(truth: Tensor, mask: Tensor, sigmas: Sequence[float] = SIGMAS) -> list[float]:
    """Region PSNR of the truth blurred by each sigma, against the truth."""
    return [region_psnr(blur(truth, s), truth, mask) for s in sigmas]


def measure(
    g: Callable[[Tensor, Tensor], Tensor], faces: int, seed: int = HELD_OUT_SEED
) -> list[dict]:
    data = held_out(faces, 64, seed)
    rows = []
    for k, name in enumerate(ATTRIBUTES):
        b = flipped(data.a, k, ATTRIBUTES)
        truth = render(data.identity, data.nuisance, b, 64).images
        out = generate(g, data.x, b)
        mask = edit_region(data.x, truth)
        curve = blur_curve(truth, mask)
        region = region_psnr(out, truth, mask)
        rows.append(
            {
                "attribute": name,
                "region": region,
                "copy_region": region_psnr(data.x, truth, mask),
                "equivalent_sigma": crossing(SIGMAS, curve, region),
                "goal_sigma": crossing(SIGMAS, curve, REGION_GOAL),
                "shift1": region_psnr(torch.roll(truth, 1, dims=3), truth, mask),
                "pixels": float(mask.sum()) / faces,
            }
        )
    return rows


def table(rows: list[dict]) -> str:
    lines = [
        "| attribute | G's region (dB) | copying x, region (dB) | G's equivalent blur (px)"
        " | blur the 25 dB goal allows (px) | truth shifted 1 px (dB) | region px |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['attribute']} | {r['region']:.1f} | {r['copy_region']:.1f} "
            f"| {r['equivalent_sigma']:.2f} "
            f"| {r['goal_sigma']:.2f} | {r['shift1']:.1f} | {r['pixels']:.0f} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=512)
    parser.add_argument("--generator", type=Path, default=None, help="default: the shipped one")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    log = logger(LOG)
    path = args.generator or shipped_generator()
    t0 = time.time()
    g = load_generator(path)
    g.eval()
    log(f"generator_sharpness: {path.name}, {args.faces} held-out faces (seed {HELD_OUT_SEED})")
    rows = measure(g, args.faces)
    for line in table(rows).splitlines():
        log(line)
    log(f"generator_sharpness: done in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
