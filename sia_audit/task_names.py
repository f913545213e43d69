"""The target tasks a policy or a model's contract may name.

Listed here, apart from their classes in `sia_audit.targets.tasks` (which import torch), so
that loading a policy, printing its schema or `--help` starts without torch. Registering a
task whose name is not listed fails at import: a new task adds its name here too.
"""

from __future__ import annotations

TASK_NAMES: tuple[str, ...] = ("binary", "keypoints-coords", "keypoints-heatmap", "multiclass")
