"""Training recipes of the demo targets: the synthfaces data, the models, and their archives.

The demo's Eyeglasses classifiers and keypoint detector are trained here; scripts/ holds only
their seeded entry points, and the benchmarks and examples that retrain or fine-tune a demo
target (benchmarks/validity_planted.py, benchmarks/planted_suite.py, benchmarks/paper_*.py,
examples/harden.py) import the same code.

- `data`: rendered training faces, the targets' input normalisation, the shipped generator;
- `classifier`: the Eyeglasses recipes (planted shortcut and control), train/evaluate;
- `fit`: the one optimisation loop (Adam, cosine schedule, weighted or soft BCE);
- `nets`: the classifiers' architectures (SmallCNN, SmallResNet);
- `keypoints`: the heatmap keypoint detector's recipe, HeatmapNet, train/evaluate;
- `archive`: a trained model as TorchScript with its contract (`sia_target.json`) inside;
- `log`: the timestamped log every training script and benchmark writes.
"""

from __future__ import annotations

from sia_audit.targets.training.archive import write_target
from sia_audit.targets.training.classifier import (
    DEMO_RECIPES,
    ClassifierRecipe,
    binary_contract,
    evaluate_classifier,
    save_classifier,
    train_classifier,
)
from sia_audit.targets.training.data import MEAN, SIZE, STD, faces, normalise, shipped_generator
from sia_audit.targets.training.fit import Batch, fit
from sia_audit.targets.training.keypoints import (
    HeatmapNet,
    KeypointRecipe,
    evaluate_keypoints,
    save_keypoints,
    train_keypoints,
)
from sia_audit.targets.training.log import Log, logger
from sia_audit.targets.training.nets import ARCHITECTURES, SmallCNN, SmallResNet

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
