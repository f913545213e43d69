"""Training recipes of the demo targets: the synthfaces data, the models, and their archives.

Development code, not shipped in the wheel: a user audits a model, the project trains its
demo targets. The demo's Eyeglasses classifiers and keypoint detector are trained here;
scripts/ holds their seeded entry points, and the benchmarks and examples that retrain or
fine-tune a target (the validity suites, the paper benchmarks, examples/harden.py) import the
same code. Run them from the repository root with PYTHONPATH=. so that `scripts` imports.

- `data`: rendered training faces, the targets' input normalisation, the shipped generator;
- `classifier`: the Eyeglasses recipes (planted shortcut and control), train/evaluate;
- `fit`: the one optimisation loop (Adam, cosine schedule, weighted or soft BCE);
- `nets`: the classifiers' architectures (SmallCNN, SmallResNet);
- `keypoints`: the heatmap keypoint detector's recipe, HeatmapNet, train/evaluate;
- `archive`: a trained model as TorchScript with its contract (`sia_target.json`) inside;
- `log`: the timestamped log every training script and benchmark writes.
"""

from __future__ import annotations

from scripts.training.archive import write_target
from scripts.training.classifier import (
    DEMO_RECIPES,
    ClassifierRecipe,
    binary_contract,
    evaluate_classifier,
    save_classifier,
    train_classifier,
)
from scripts.training.data import MEAN, SIZE, STD, faces, normalise, shipped_generator
from scripts.training.fit import Batch, fit
from scripts.training.keypoints import (
    HeatmapNet,
    KeypointRecipe,
    evaluate_keypoints,
    save_keypoints,
    train_keypoints,
)
from scripts.training.log import Log, logger
from scripts.training.nets import ARCHITECTURES, SmallCNN, SmallResNet

__all__ = [
    "ARCHITECTURES",
    "Batch",
    "DEMO_RECIPES",
    "MEAN",
    "SIZE",
    "STD",
    "ClassifierRecipe",
    "HeatmapNet",
    "KeypointRecipe",
    "Log",
    "SmallCNN",
    "SmallResNet",
    "binary_contract",
    "evaluate_classifier",
    "evaluate_keypoints",
    "faces",
    "fit",
    "logger",
    "normalise",
    "save_classifier",
    "save_keypoints",
    "shipped_generator",
    "train_classifier",
    "train_keypoints",
    "write_target",
]
