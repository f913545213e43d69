"""binary: one logit per image for an attribute."""

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


@register_task("binary")
class BinaryTask(Task):
    """One logit per image for the label attribute; BCE with logits; prediction logit > 0."""

    outputs_logits = True

    def __init__(self, label: str | None = None) -> None:
        self.label = label  # the generator attribute predicted

    @classmethod
    def from_contract(cls, contract: Contract) -> Task:
        return cls(contract.label)

    def labels(self, probes: ProbeSet) -> Tensor:
        if self.label is None:
            raise DataError("a binary target needs the attribute it predicts: set its label")
        return (attribute_column(probes, self.label, self.name) >= 0.5).float()

    def dummy_labels(self) -> Tensor:
        return torch.tensor([0.0, 1.0])

    def label_text(self, label: int) -> str:
        return " 1" if label == 1 else "-1"  # CelebA's own -1/1

    def frozen_attributes(self) -> tuple[str, ...]:
        return () if self.label is None else (self.label,)

    def check(self, output: Tensor, label: Tensor) -> Tensor:
        output = as_tensor(output, self.name)
        if output.dim() == 2 and output.shape[1] == 1:
            output = output[:, 0]
        if output.dim() != 1:
            raise ModelError(
                f"binary target must output (B,) or (B, 1) logits but got {shape(output)}; "
                "return one logit per image or declare another task"
            )
        if label.dim() != 1:
            raise DataError(f"binary labels must be (B,) but got {shape(label)}")
        check_batch(output, label, self.name)
        return output

    def loss(self, output: Tensor, label: Tensor) -> Tensor:
        output = self.check(output, label)
        dt = float_dtype(output)
        return F.binary_cross_entropy_with_logits(output.to(dt), label.to(dt), reduction="none")

    def predict(self, output: Tensor) -> Tensor:
        output = as_tensor(output, self.name)
        return (output.reshape(output.shape[0], -1)[:, 0] > 0).long()

    def error(self, output: Tensor, label: Tensor) -> Tensor:
        output = self.check(output, label)
        return (self.predict(output) != label.long()).to(float_dtype(output))

    def check_label(self, label: Tensor) -> None:
        if not bool(((label == 0) | (label == 1)).all()):
            raise DataError("binary labels must be 0 or 1; fix the probe set's label column")
