"""Train the demo keypoint detector (68 iBUG landmarks as heatmaps) on synthfaces, seeded.

    PYTHONPATH=. nice .venv/bin/python scripts/train_keypoints_demo.py [--steps N] \\
        [--out PATH] [--log PATH]

writes examples/models/keypoints.pt (TorchScript with `sia_target.json`, task keypoints-heatmap,
heatmap_sigma 2.0 on 64x64 maps) and appends timestamped held-out figures to
docs/logs/train_keypoints_demo.log. One thread, about 10 minutes on a shared 2-core machine.

The recipe (a KL term on the spatial softmax that gets the maps off the flat-map plateau, the
squared error ramped in later; half of every batch seen through the shipped generator) and its
reasons are in scripts.training.keypoints; this is its seeded entry point.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from scripts.training import KeypointRecipe, logger, save_keypoints, train_keypoints

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "examples" / "models" / "keypoints.pt"
LOG = ROOT / "docs" / "logs" / "train_keypoints_demo.log"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=KeypointRecipe.steps)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--log", type=Path, default=LOG)
    args = parser.parse_args()
    torch.set_num_threads(1)  # a shared machine: one thread (and run it under nice)
    recipe = KeypointRecipe(steps=args.steps)
    log = logger(args.log)
    t0 = time.time()
    model, figures = train_keypoints(recipe, log)
    save_keypoints(model, recipe, figures, args.out, trained_by="scripts/train_keypoints_demo.py")
    log(
        f"keypoints: wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB) after "
        f"{recipe.steps} steps in {time.time() - t0:.0f}s: "
        + " ".join(f"{k} {v:.4f}" for k, v in figures.items())
    )


if __name__ == "__main__":
    main()
