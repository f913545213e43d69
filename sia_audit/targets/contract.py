"""A target's input contract and the differentiable adapter from generator images to it."""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sia_audit.errors import UsageError
from sia_audit.limits import MAX_INPUT_SIDE, input_size_problem
from sia_audit.targets.tasks import Task, make_task, task_names


def _bad(field: str, value: object, want: str) -> UsageError:
    return UsageError(f"target contract {field}={value!r} is invalid; use {want}")


def _is_number(v: object) -> bool:
    return not isinstance(v, bool) and isinstance(v, int | float) and math.isfinite(v)


def _is_count(v: object, minimum: int) -> bool:
    return not isinstance(v, bool) and isinstance(v, int) and v >= minimum


@dataclass(frozen=True)
class TargetContract:
    """What a target expects and returns (docs/design.md, targets and tasks).

    `input_size` is (height, width) in pixels; `mean`/`std` are per-channel RGB normalisation in
    [0, 1] units (ImageNet: (0.485, 0.456, 0.406) / (0.229, 0.224, 0.225)). `label` is the
    generator attribute a binary target predicts; `classes` the attributes a multiclass target's
    logits stand for (`none`: none of the others). `heatmap_sigma` is in heatmap pixels;
    `nme_failure` is the NME above which a keypoint prediction counts as failed.
    """

    task: str
    input_size: tuple[int, int]
    mean: tuple[float, float, float] = (0.0, 0.0, 0.0)
    std: tuple[float, float, float] = (1.0, 1.0, 1.0)
    label: str | None = None
    classes: tuple[str, ...] | None = None  # multiclass: the probe attributes, one per logit
    num_classes: int | None = None
    num_keypoints: int | None = None
    heatmap_sigma: float = 1.5
    nme_failure: float = 0.10

    def __post_init__(self) -> None:
        # Accept lists (JSON/YAML) but store tuples, so the contract stays hashable and frozen.
        for name in ("input_size", "mean", "std", "classes"):
            value = getattr(self, name)
            if isinstance(value, list):
                object.__setattr__(self, name, tuple(value))
        if self.task not in task_names():
            raise _bad("task", self.task, f"one of {', '.join(task_names())}")
        size = self.input_size
        if not (isinstance(size, tuple) and len(size) == 2 and all(_is_count(s, 1) for s in size)):
            raise _bad("input_size", size, "[height, width] in pixels")
        too_large = input_size_problem(size)
        if too_large is not None:
            raise UsageError(
                f"target contract input_size={list(size)} has {too_large}; give the size the "
                f"model takes, at most {MAX_INPUT_SIDE} a side"
            )
        for name, positive in (("mean", False), ("std", True)):
            v = getattr(self, name)
            if not (
                isinstance(v, tuple)
                and len(v) == 3
                and all(_is_number(c) and (c > 0 or not positive) for c in v)
            ):
                want = "three positive numbers (R, G, B)" if positive else "three numbers (R, G, B)"
                raise _bad(name, v, want)
        if self.label is not None and not (isinstance(self.label, str) and self.label):
            raise _bad("label", self.label, "an attribute name")
        if self.num_classes is not None and not _is_count(self.num_classes, 2):
            raise _bad("num_classes", self.num_classes, "an integer >= 2")
        if self.classes is not None:
            c = self.classes
            if not (
                isinstance(c, tuple)
                and len(c) >= 2
                and all(isinstance(n, str) and n for n in c)
                and len(set(c)) == len(c)
            ):
                raise _bad("classes", c, "two or more distinct attribute names, one per logit")
            if self.num_classes not in (None, len(c)):
                raise _bad("num_classes", self.num_classes, f"{len(c)}, one per name in classes")
        if self.num_keypoints is not None and not _is_count(self.num_keypoints, 1):
            raise _bad("num_keypoints", self.num_keypoints, "an integer >= 1")
        if not (_is_number(self.heatmap_sigma) and self.heatmap_sigma > 0):
            raise _bad("heatmap_sigma", self.heatmap_sigma, "a number > 0 (heatmap pixels)")
        if not (_is_number(self.nme_failure) and self.nme_failure > 0):
            raise _bad("nme_failure", self.nme_failure, "a number > 0 (e.g. 0.10)")

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any]) -> TargetContract:
        """From a JSON/YAML mapping (e.g. `sia_target.json`); unknown keys are rejected."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise UsageError(
                f"unknown target contract keys {', '.join(unknown)}; use only {', '.join(known)}"
            )
        missing = sorted({"task", "input_size"} - set(data))
        if missing:
            raise UsageError(f"target contract lacks {', '.join(missing)}; add them")
        return cls(**data)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields (tuples become lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    def make_task(self) -> Task:
        return make_task(self)


def _set_eval(model: object) -> None:
    if isinstance(model, nn.Module):
        # torch.export modules refuse eval(); their BatchNorm is fixed as exported.
        with contextlib.suppress(NotImplementedError):
            model.eval()


class Target(nn.Module):
    """f composed with the adapter: images in [0, 1] at any size -> the model's raw output.

    The adapter resizes bilinearly (antialias off: its gradient is exact and cheap; skipped
    when sizes match) and normalises with the contract's mean/std. The model stays in eval mode
    and its parameters never require gradients: only input gradients are ever taken.
    """

    mean: Tensor  # buffers, registered in __init__
    std: Tensor

    def __init__(self, model: Callable[[Tensor], Any], contract: TargetContract) -> None:
        super().__init__()
        if not callable(model):
            raise UsageError(f"target model must be callable, got {type(model).__name__}")
        self.model = model
        self.contract = contract
        self.task = contract.make_task()
        # Non-persistent: the adapter constants come from the contract, not from a state_dict.
        self.register_buffer("mean", torch.tensor(contract.mean).view(1, 3, 1, 1), False)
        self.register_buffer("std", torch.tensor(contract.std).view(1, 3, 1, 1), False)
        if isinstance(model, nn.Module):
            for p in model.parameters():
                p.requires_grad_(False)
        self.train(False)

    def train(self, mode: bool = True) -> Target:
        # A target is audited, never trained: stay in eval mode whatever the caller asks.
        self.training = False
        _set_eval(self.model)
        return self

    def adapt(self, x: Tensor) -> Tensor:
        """Resize to the contract's input size and normalise (differentiable)."""
        if tuple(x.shape[-2:]) != self.contract.input_size:
            x = F.interpolate(
                x,
                size=self.contract.input_size,
                mode="bilinear",
                align_corners=False,
                antialias=False,
            )
        return (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)

    def forward(self, x: Tensor) -> Any:
        return self.model(self.adapt(x))

    def extra_repr(self) -> str:
        c = self.contract
        return f"task={c.task!r}, input_size={c.input_size}, label={c.label!r}"
