"""The paired trainer's region-term errors, by name: kept apart from the trainer (torch) so that
`train-generator --help` lists them without importing torch."""

from __future__ import annotations

REGION_METRICS: tuple[str, ...] = ("l1", "rms")
