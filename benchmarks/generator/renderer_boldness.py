"""Would drawing the small features bolder bring the region goal within reach?

A new renderer version may draw a feature bolder when it is too small to learn at 64 px.
`benchmarks/generator/sharpness.py` found that G draws the small features about as the
renderer's truth blurred by 0.67-0.95 px (the best fine-tuned candidate), and that the 25 dB
region goal allows only 0.53-0.70 px. This asks what a bolder renderer changes in that budget,
without training anything: for each small feature, on the renderer of the checkout it runs
from, the region's size, the copy baseline, the blur the goal allows, and the region PSNR of the
truth blurred by G's measured equivalent blur (a generator that draws the bolder feature exactly
as sharply as G draws today's).

    PYTHONPATH=. nice .venv/bin/python -m benchmarks.generator.renderer_boldness  # version 2
    git worktree add /tmp/v3 HEAD && git -C /tmp/v3 apply \\
        "$PWD/benchmarks/generator/renderer_v3_bolder.patch"          # the bolder variant
    (cd /tmp/v3 && PYTHONPATH=. nice "$OLDPWD/.venv/bin/python" \\
        -m benchmarks.generator.renderer_boldness --log "$OLDPWD/docs/logs/renderer_boldness.log")

`renderer_v3_bolder.patch` is the variant measured in docs/generator.md: brows 5.0x thicker when
bushy (was 3.2x), parted lips 0.110 apart (was 0.070), a smile's teeth 0.065 (was 0.040) with
corners lifted 0.100 (was 0.085) and creases 0.030 wide (was 0.022), lipstick thickening both
lips by 1.80 lip thicknesses (was 0.95 and 1.00), a moustache 0.120 tall (was 0.085) and 1.45
mouth widths wide (was 1.35), eyeglass frames 0.045 wide (was 0.028); canvas units, 64 px = 2.
Seconds; writes nothing but the log.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

import sia_audit
from benchmarks import paths
from benchmarks.generator.sharpness import REGION_GOAL, SIGMAS, blur, blur_curve, crossing
from scripts.training import logger
from sia_audit.generators.flips import flipped
from sia_audit.generators.training.evaluate import HELD_OUT_SEED, held_out, mean_psnr, region_psnr
from sia_audit.metrics.image_quality import edit_region
from sia_audit.probes.synthfaces.attributes import ATTRIBUTES
from sia_audit.probes.synthfaces.params import RENDERER_VERSION
from sia_audit.probes.synthfaces.renderer import render

# G's equivalent blur (px) of the best candidate, the focus + edge + continuation fine-tune
# (docs/logs/generator_sharpness.log, 2026-12-01 05:25 UTC, 512 held-out faces).
G_SIGMA = {"Bushy_Eyebrows": 0.71, "Eyeglasses": 0.67, "Mouth_Slightly_Open": 0.89,
           "Mustache": 0.89, "Smiling": 0.95, "Wearing_Lipstick": 0.68}  # fmt: skip


def measure(faces: int) -> list[dict]:
    data = held_out(faces, 64, HELD_OUT_SEED)
    rows = []
    for k, name in enumerate(ATTRIBUTES):
        if name not in G_SIGMA:
            continue
        truth = render(data.identity, data.nuisance, flipped(data.a, k, ATTRIBUTES), 64).images
        mask = edit_region(data.x, truth)
        rows.append(
            {
                "attribute": name,
                "pixels": float(mask.sum()) / faces,
                "copy": mean_psnr(data.x, truth),
                "goal_sigma": crossing(SIGMAS, blur_curve(truth, mask), REGION_GOAL),
                "at_g_sigma": region_psnr(blur(truth, G_SIGMA[name]), truth, mask),
                "shift1": region_psnr(torch.roll(truth, 1, dims=3), truth, mask),
            }
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=int, default=512)
    parser.add_argument("--log", type=Path, default=paths.LOGS / "renderer_boldness.log")
    args = parser.parse_args()
    torch.set_num_threads(1)
    log = logger(args.log)
    t0 = time.time()
    log(f"renderer_boldness: renderer version {RENDERER_VERSION} "
        f"({Path(sia_audit.__file__).parents[1]}), {args.faces} "
        f"held-out faces (seed {HELD_OUT_SEED})")  # fmt: skip
    log("| attribute | region px | copying x (dB) | blur the goal allows (px) | G's blur (px) "
        "| region at G's blur (dB) | truth shifted 1 px (dB) |")  # fmt: skip
    log("|---|---:|---:|---:|---:|---:|---:|")
    for r in measure(args.faces):
        sigma = G_SIGMA[r["attribute"]]
        log(f"| {r['attribute']} | {r['pixels']:.0f} | {r['copy']:.1f} | {r['goal_sigma']:.2f} "
            f"| {sigma:.2f} | {r['at_g_sigma']:.1f} | {r['shift1']:.1f} |")  # fmt: skip
    log(f"renderer_boldness: done in {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
