"""multiclass: logits over classes named by probe attributes."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from sia_audit.errors import DataError, ModelError
from sia_audit.probes.interface import ProbeSet
from sia_audit.targets.tasks.base import (
    Contract,
    Task,
    as_tensor,
    attribute_column,
    check_batch,
    float_dtype,
    register_task,
    shape,
)

NONE = "none"  # the class of a probe on which no other class attribute is on


@register_task("multiclass")
class MulticlassTask(Task):
    """Logits (B, C) and a class index per image; cross-entropy; prediction argmax.

    The contract's `classes` names the probe attributes that are the classes, one per logit:
    a probe's label is the one class whose attribute is on (>= 0.5). The name `none` stands for
    "no other class is on" (e.g. hair colours with a class for any other colour).
    """

    outputs_logits = True

    def __init__(
        self, num_classes: int | None = None, classes: tuple[str, ...] | None = None
    ) -> None:
        self.num_classes = num_classes if classes is None else len(classes)
        self.classes = classes

    @classmethod
    def from_contract(cls, contract: Contract) -> Task:
        return cls(contract.num_classes, contract.classes)

    def labels(self, probes: ProbeSet) -> Tensor:
        if self.classes is None:
            raise DataError(
                "a multiclass target needs `classes` in its contract: the probe attributes "
                "that are its classes, one per logit (`none` for none of them)"
            )
        named = [c for c in self.classes if c != NONE]
        on = torch.stack([attribute_column(probes, c, self.name) >= 0.5 for c in named], dim=1)
        count = on.sum(dim=1)
        index = torch.tensor([self.classes.index(c) for c in named])
        labels = (on.long() * index).sum(dim=1)
        if NONE in self.classes:
            labels = torch.where(count == 0, self.classes.index(NONE), labels)
        bad = (count > 1) | ((count == 0) & (NONE not in self.classes))
        if bool(bad.any()):
            first = int(bad.nonzero()[0])
            raise DataError(
                f"probe {probes.names[first]} has {int(count[first])} of the classes "
                f"{list(named)} on; a multiclass label needs exactly one (add a `none` class "
                "for probes with none)"
            )
        return labels

    def dummy_labels(self) -> Tensor:
        return torch.tensor([0, 1])

    def frozen_attributes(self) -> tuple[str, ...]:
        return tuple(c for c in self.classes or () if c != NONE)

    def check(self, output: Tensor, label: Tensor) -> Tensor:
        output = as_tensor(output, self.name)
        want = "C" if self.num_classes is None else str(self.num_classes)
        if output.dim() != 2 or (self.num_classes not in (None, output.shape[1])):
            raise ModelError(
                f"multiclass target must output (B, {want}) logits but got {shape(output)}; "
                "fix the model's head or the contract's num_classes"
            )
        if output.shape[1] < 2:
            raise ModelError(
                f"multiclass target must output logits over two or more classes but got "
                f"{shape(output)}: one logit is a binary target; use task: binary with its label"
            )
        if label.dim() != 1:
            raise DataError(f"multiclass labels must be (B,) class indices, got {shape(label)}")
        check_batch(output, label, self.name)
        return output

    def loss(self, output: Tensor, label: Tensor) -> Tensor:
        output = self.check(output, label)
        return F.cross_entropy(output.to(float_dtype(output)), label.long(), reduction="none")

    def predict(self, output: Tensor) -> Tensor:
        return as_tensor(output, self.name).argmax(dim=1)

    def error(self, output: Tensor, label: Tensor) -> Tensor:
        output = self.check(output, label)
        return (self.predict(output) != label.long()).to(float_dtype(output))

    def validate(self, output: Tensor, label: Tensor) -> None:
        super().validate(output, label)
        classes = as_tensor(output, self.name).shape[1]
        if bool((label.long() >= classes).any()):
            raise DataError(
                f"multiclass labels must lie in [0, {classes}) for a model with {classes} "
                "logits; fix the contract's classes or the model's head"
            )

    def check_label(self, label: Tensor) -> None:
        if label.is_floating_point() and not bool((label == label.round()).all()):
            raise DataError("multiclass labels must be integer class indices")
        high = self.num_classes
        if bool((label < 0).any()) or (high is not None and bool((label >= high).any())):
            raise DataError(
                f"multiclass labels must lie in [0, {high if high is not None else 'C'}); "
                "fix the probe set's class column or the contract's num_classes"
            )
