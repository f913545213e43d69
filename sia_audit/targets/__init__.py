"""Targets: the model under audit, its input contract, and its task's loss and error."""

from __future__ import annotations

from sia_audit.targets.contract import Target, TargetContract
from sia_audit.targets.tasks import (
    BinaryTask,
    CoordsTask,
    HeatmapTask,
    MulticlassTask,
    Task,
    make_task,
    register_task,
    task_names,
)

__all__ = [
    "BinaryTask",
    "CoordsTask",
    "HeatmapTask",
    "MulticlassTask",
    "Target",
    "TargetContract",
    "Task",
    "make_task",
    "register_task",
    "task_names",
]
