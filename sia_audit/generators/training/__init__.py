"""Generator trainers: paired (synthfaces, supervised by the renderer) and unpaired (AttGAN)."""

from __future__ import annotations

from sia_audit.generators.training.paired import PairedConfig, train_paired
from sia_audit.generators.training.state import (
    ArchConfig,
    TrainProgress,
    TrainResult,
    state_path_for,
)
from sia_audit.generators.training.unpaired import UnpairedConfig, train_unpaired

__all__ = [
    "ArchConfig",
    "PairedConfig",
    "TrainProgress",
    "TrainResult",
    "UnpairedConfig",
    "state_path_for",
    "train_paired",
    "train_unpaired",
]
