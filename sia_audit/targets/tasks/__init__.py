"""Target tasks: one module per task, registered by name when this package loads.

A new task is one module here (a `Task` subclass under `@register_task`) plus its tests, and its
name in sia_audit/task_names.py: every module of the package is imported below and the
contract's check comes from the registry, while the policy's `target.task` choices come from
that list, which a policy reads without importing torch (registering an unlisted name fails).
"""

from __future__ import annotations

import importlib
import pkgutil

from sia_audit.targets.tasks.base import (
    Contract,
    Task,
    make_task,
    register_task,
    task_class,
    task_names,
)
from sia_audit.targets.tasks.binary import BinaryTask
from sia_audit.targets.tasks.keypoints_coords import CoordsTask
from sia_audit.targets.tasks.keypoints_heatmap import HeatmapTask
from sia_audit.targets.tasks.multiclass import MulticlassTask

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = [
    "BinaryTask",
    "Contract",
    "CoordsTask",
    "HeatmapTask",
    "MulticlassTask",
    "Task",
    "make_task",
    "register_task",
    "task_class",
    "task_names",
]
