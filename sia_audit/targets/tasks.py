"""Task losses, predictions and errors of SPEC section 4, in a small registry by name."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar

import torch
import torch.nn.functional as F
from torch import Tensor

from sia_audit.errors import DataError, ModelError, UsageError

if TYPE_CHECKING:
    from sia_audit.targets.contract import TargetContract

# Outer eye corners in the 0-based iBUG-68 layout: the inter-ocular distance of the NME.
IBUG68_OUTER_EYE_CORNERS = (36, 45)


def _shape(t: Tensor) -> tuple[int, ...]:
    return tuple(t.shape)


def _as_tensor(output: object, name: str) -> Tensor:
    if not isinstance(output, Tensor):
        raise ModelError(
            f"{name} target must return one tensor but returned {type(output).__name__}; "
            "wrap the model so it returns the task's output tensor"
        )
    return output


def _check_batch(output: Tensor, label: Tensor, name: str) -> None:
    if output.shape[0] != label.shape[0]:
        raise ModelError(
            f"{name} target returned {output.shape[0]} outputs for {label.shape[0]} images; "
            "the model must keep the batch on dim 0"
        )


def _float_dtype(t: Tensor) -> torch.dtype:
    # bf16/fp16 outputs (autocast) are scored in float32; float64 stays float64.
    return torch.promote_types(t.dtype, torch.float32)


class Task(ABC):
    """A target task: per-sample loss (what the attack ascends), prediction and error.

    `check` is shape-only and cheap (it runs at every attack step); `validate` also checks label
    values and that the output is finite, which synchronises a GPU, so the engine runs it once.
    """

    name: ClassVar[str]

    @classmethod
    def from_contract(cls, contract: TargetContract) -> Task:
        return cls()

    @abstractmethod
    def check(self, output: Tensor, label: Tensor) -> Tensor:
        """The output in canonical shape; a wrong output is a one-line ModelError."""

    @abstractmethod
    def loss(self, output: Tensor, label: Tensor) -> Tensor:
        """Per-sample loss (B,)."""

    @abstractmethod
    def predict(self, output: Tensor) -> Tensor:
        """The prediction per image."""

    @abstractmethod
    def error(self, output: Tensor, label: Tensor) -> Tensor:
        """Per-sample error (B,): 0/1 misclassification, or NME for keypoints."""

    def correct(self, output: Tensor, label: Tensor) -> Tensor:
        """Bool (B,): whether the target gets the image right."""
        return self.error(output, label) == 0

    def check_label(self, label: Tensor) -> None:  # noqa: B027 - most tasks accept any value
        """Label values the task accepts (a DataError otherwise)."""

    def validate(self, output: Tensor, label: Tensor) -> None:
        """Full check of one output/label pair: shapes, label values, finiteness."""
        output = self.check(output, label)
        self.check_label(label)
        if not bool(torch.isfinite(output).all()):
            raise ModelError(
                f"{self.name} target produced non-finite outputs (NaN or inf); "
                "check the model's weights and its input normalisation"
            )


_TASKS: dict[str, type[Task]] = {}


def register_task(name: str) -> Callable[[type[Task]], type[Task]]:
    def register(cls: type[Task]) -> type[Task]:
        cls.name = name
        _TASKS[name] = cls
        return cls

    return register


def task_names() -> tuple[str, ...]:
    return tuple(_TASKS)


def task_class(name: str) -> type[Task]:
    try:
        return _TASKS[name]
    except (KeyError, TypeError):
        raise UsageError(f"unknown target task {name!r}; use one of {', '.join(_TASKS)}") from None


def make_task(contract: TargetContract) -> Task:
    """The task object a contract declares, configured from it (classes, sigma, threshold)."""
    return task_class(contract.task).from_contract(contract)


@register_task("binary")
class BinaryTask(Task):
    """One logit per image for the label attribute; BCE with logits; prediction logit > 0."""

    def check(self, output: Tensor, label: Tensor) -> Tensor:
        output = _as_tensor(output, self.name)
        if output.dim() == 2 and output.shape[1] == 1:
            output = output[:, 0]
        if output.dim() != 1:
            raise ModelError(
                f"binary target must output (B,) or (B, 1) logits but got {_shape(output)}; "
                "return one logit per image or declare another task"
            )
        if label.dim() != 1:
            raise DataError(f"binary labels must be (B,) but got {_shape(label)}")
        _check_batch(output, label, self.name)
        return output

    def loss(self, output: Tensor, label: Tensor) -> Tensor:
        output = self.check(output, label)
        dt = _float_dtype(output)
        return F.binary_cross_entropy_with_logits(output.to(dt), label.to(dt), reduction="none")

    def predict(self, output: Tensor) -> Tensor:
        output = _as_tensor(output, self.name)
        return (output.reshape(output.shape[0], -1)[:, 0] > 0).long()

    def error(self, output: Tensor, label: Tensor) -> Tensor:
        output = self.check(output, label)
        return (self.predict(output) != label.long()).to(_float_dtype(output))

    def check_label(self, label: Tensor) -> None:
        if not bool(((label == 0) | (label == 1)).all()):
            raise DataError("binary labels must be 0 or 1; fix the probe set's label column")


@register_task("multiclass")
class MulticlassTask(Task):
    """Logits (B, C) and a class index per image; cross-entropy; prediction argmax."""

    def __init__(self, num_classes: int | None = None) -> None:
        self.num_classes = num_classes

    @classmethod
    def from_contract(cls, contract: TargetContract) -> Task:
        return cls(contract.num_classes)

    def check(self, output: Tensor, label: Tensor) -> Tensor:
        output = _as_tensor(output, self.name)
        want = "C" if self.num_classes is None else str(self.num_classes)
        if output.dim() != 2 or (self.num_classes not in (None, output.shape[1])):
            raise ModelError(
                f"multiclass target must output (B, {want}) logits but got {_shape(output)}; "
                "fix the model's head or the contract's num_classes"
            )
        if label.dim() != 1:
            raise DataError(f"multiclass labels must be (B,) class indices, got {_shape(label)}")
        _check_batch(output, label, self.name)
        return output

    def loss(self, output: Tensor, label: Tensor) -> Tensor:
        output = self.check(output, label)
        return F.cross_entropy(output.to(_float_dtype(output)), label.long(), reduction="none")

    def predict(self, output: Tensor) -> Tensor:
        return _as_tensor(output, self.name).argmax(dim=1)

    def error(self, output: Tensor, label: Tensor) -> Tensor:
        output = self.check(output, label)
        return (self.predict(output) != label.long()).to(_float_dtype(output))

    def check_label(self, label: Tensor) -> None:
        if label.is_floating_point() and not bool((label == label.round()).all()):
            raise DataError("multiclass labels must be integer class indices")
        high = self.num_classes
        if bool((label < 0).any()) or (high is not None and bool((label >= high).any())):
            raise DataError(
                f"multiclass labels must lie in [0, {high if high is not None else 'C'}); "
                "fix the probe set's class column or the contract's num_classes"
            )


class _KeypointTask(Task):
    """Landmarks (B, P, 2) in normalised image coordinates (x/W, y/H); NME error.

    Probe images are square (the generator's space), so normalised coordinates are isotropic
    and NME computed on them equals NME in pixels.
    """

    def __init__(
        self,
        num_keypoints: int | None = None,
        nme_failure: float = 0.10,
        eye_corners: tuple[int, int] = IBUG68_OUTER_EYE_CORNERS,
    ) -> None:
        self.num_keypoints = num_keypoints
        self.nme_failure = nme_failure
        self.eye_corners = eye_corners

    def _check_points(self, output: Tensor, label: Tensor) -> None:
        p = self.num_keypoints if self.num_keypoints is not None else output.shape[1]
        if label.dim() != 3 or label.shape[1:] != (p, 2):
            raise DataError(
                f"{self.name} labels must be (B, {p}, 2) normalised landmarks, got {_shape(label)}"
            )
        _check_batch(output, label, self.name)

    def error(self, output: Tensor, label: Tensor) -> Tensor:
        """NME: mean point distance / inter-ocular distance of the ground truth."""
        pred = self.predict(self.check(output, label))
        left, right = self.eye_corners
        if label.shape[1] <= max(left, right):
            raise ModelError(
                f"NME needs points {left} and {right} (outer eye corners, iBUG-68) but the "
                f"target has {label.shape[1]} keypoints; use a 68-point layout"
            )
        dt = _float_dtype(pred)
        gt = label.to(dt)
        iod = (gt[:, left] - gt[:, right]).norm(dim=-1)
        if not bool((iod > 0).all()):
            raise DataError("a probe's outer eye corners coincide: its NME is undefined")
        return (pred.to(dt) - gt).norm(dim=-1).mean(dim=1) / iod

    def correct(self, output: Tensor, label: Tensor) -> Tensor:
        return self.error(output, label) <= self.nme_failure


@register_task("keypoints-heatmap")
class HeatmapTask(_KeypointTask):
    """Heatmaps (B, P, h, w); MSE against Gaussian maps of the labels; argmax prediction.

    Pixel-centre convention: heatmap pixel i covers [i, i + 1) of the map, centre i + 0.5, so the
    normalised coordinate u sits at u * w - 0.5 in pixel indices.
    """

    def __init__(
        self,
        num_keypoints: int | None = None,
        sigma: float = 1.5,
        nme_failure: float = 0.10,
        eye_corners: tuple[int, int] = IBUG68_OUTER_EYE_CORNERS,
    ) -> None:
        super().__init__(num_keypoints, nme_failure, eye_corners)
        self.sigma = sigma

    @classmethod
    def from_contract(cls, contract: TargetContract) -> Task:
        return cls(contract.num_keypoints, contract.heatmap_sigma, contract.nme_failure)

    def check(self, output: Tensor, label: Tensor) -> Tensor:
        output = _as_tensor(output, self.name)
        p = "P" if self.num_keypoints is None else str(self.num_keypoints)
        if output.dim() != 4 or self.num_keypoints not in (None, output.shape[1]):
            raise ModelError(
                f"keypoints-heatmap target must output (B, {p}, h, w) heatmaps but got "
                f"{_shape(output)}; fix the model's head or the contract's num_keypoints"
            )
        self._check_points(output, label)
        return output

    def heatmaps(self, label: Tensor, size: tuple[int, int], dtype: torch.dtype) -> Tensor:
        """Unnormalised Gaussians (peak 1) of sigma heatmap pixels at the landmarks."""
        h, w = size
        centres = label.to(dtype) * torch.tensor([w, h], dtype=dtype, device=label.device)
        cols = torch.arange(w, dtype=dtype, device=label.device) + 0.5
        rows = torch.arange(h, dtype=dtype, device=label.device) + 0.5
        gx = torch.exp(-((cols - centres[..., 0:1]) ** 2) / (2 * self.sigma**2))
        gy = torch.exp(-((rows - centres[..., 1:2]) ** 2) / (2 * self.sigma**2))
        return gy[..., :, None] * gx[..., None, :]

    def loss(self, output: Tensor, label: Tensor) -> Tensor:
        output = self.check(output, label)
        dt = _float_dtype(output)
        target = self.heatmaps(label, (output.shape[2], output.shape[3]), dt)
        return F.mse_loss(output.to(dt), target, reduction="none").mean(dim=(1, 2, 3))

    def predict(self, output: Tensor) -> Tensor:
        """Per-map argmax as normalised (x, y) at the pixel centre, (B, P, 2)."""
        output = _as_tensor(output, self.name)
        h, w = output.shape[-2:]
        idx = output.flatten(2).argmax(dim=2)
        dt = _float_dtype(output)
        x = ((idx % w).to(dt) + 0.5) / w
        y = (torch.div(idx, w, rounding_mode="floor").to(dt) + 0.5) / h
        return torch.stack([x, y], dim=-1)


@register_task("keypoints-coords")
class CoordsTask(_KeypointTask):
    """Coordinates (B, P, 2) in [0, 1] image coordinates; MSE; the output is the prediction."""

    @classmethod
    def from_contract(cls, contract: TargetContract) -> Task:
        return cls(contract.num_keypoints, contract.nme_failure)

    def check(self, output: Tensor, label: Tensor) -> Tensor:
        output = _as_tensor(output, self.name)
        p = "P" if self.num_keypoints is None else str(self.num_keypoints)
        if (
            output.dim() != 3
            or output.shape[2] != 2
            or self.num_keypoints not in (None, output.shape[1])
        ):
            raise ModelError(
                f"keypoints-coords target must output (B, {p}, 2) coordinates but got "
                f"{_shape(output)}; fix the model's head or the contract's num_keypoints"
            )
        self._check_points(output, label)
        return output

    def loss(self, output: Tensor, label: Tensor) -> Tensor:
        output = self.check(output, label)
        dt = _float_dtype(output)
        return F.mse_loss(output.to(dt), label.to(dt), reduction="none").mean(dim=(1, 2))

    def predict(self, output: Tensor) -> Tensor:
        return _as_tensor(output, self.name)
