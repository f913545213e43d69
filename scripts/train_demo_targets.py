"""Train the demo Eyeglasses classifiers on synthfaces (seeded); save TorchScript + contract.

Each model is a small CNN at 64x64 (the keypoint detector has its own script,
scripts/train_keypoints_demo.py). Training batches mix raw renders with
the shipped generator's reconstructions G(x, a), so the target is robust to G before anything
is attacked through it (an audit of a target that already fails on reconstructions measures
noise). The contract travels inside the archive as `sia_target.json`. The recipes and the
training loop live in scripts.training.classifier; this is their seeded entry point.

    PYTHONPATH=. .venv/bin/python scripts/train_demo_targets.py [--only NAME] [--steps N]

writes examples/models/NAME.pt and appends to docs/logs/train_demo_targets.log.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from scripts.training import DEMO_RECIPES, logger, save_classifier, train_classifier

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "examples" / "models"
LOG = ROOT / "docs" / "logs" / "train_demo_targets.log"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(DEMO_RECIPES), action="append")
    parser.add_argument("--steps", type=int, default=None, help="override (smoke runs only)")
    parser.add_argument("--out-dir", type=Path, default=OUT)
    parser.add_argument("--log", type=Path, default=LOG)
    args = parser.parse_args()
    log = logger(args.log)

    torch.set_num_threads(2)
    for name in args.only or sorted(DEMO_RECIPES):
        recipe = DEMO_RECIPES[name]
        steps = args.steps or recipe.steps
        log(f"{name}: training {steps} steps, seed {recipe.seed}, {recipe}")
        model = train_classifier(recipe, steps, log)
        path = args.out_dir / f"{name}.pt"
        save_classifier(model, recipe, steps, path, trained_by="scripts/train_demo_targets.py")
        log(f"{name}: wrote {path}")


if __name__ == "__main__":
    main()
