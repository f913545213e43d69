"""keypoints-coords: landmark coordinates in [0, 1]."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from sia_audit.errors import ModelError
from sia_audit.targets.tasks._keypoints import KeypointTask
from sia_audit.targets.tasks.base import (
    Contract,
    Task,
    as_tensor,
    float_dtype,
    register_task,
    shape,
)


@register_task("keypoints-coords")
class CoordsTask(KeypointTask):
    """Coordinates (B, P, 2) in [0, 1] image coordinates; MSE; the output is the prediction."""

    @classmethod
    def from_contract(cls, contract: Contract) -> Task:
        return cls(contract.num_keypoints, contract.nme_failure)

    def check(self, output: Tensor, label: Tensor) -> Tensor:
        output = as_tensor(output, self.name)
        p = "P" if self.num_keypoints is None else str(self.num_keypoints)
        if (
            output.dim() != 3
            or output.shape[2] != 2
            or self.num_keypoints not in (None, output.shape[1])
        ):
            raise ModelError(
                f"keypoints-coords target must output (B, {p}, 2) coordinates but got "
                f"{shape(output)}; fix the model's head or the contract's num_keypoints"
            )
        self._check_points(output, label)
        return output

    def loss(self, output: Tensor, label: Tensor) -> Tensor:
        output = self.check(output, label)
        dt = float_dtype(output)
        return F.mse_loss(output.to(dt), label.to(dt), reduction="none").mean(dim=(1, 2))

    def predict(self, output: Tensor) -> Tensor:
        return as_tensor(output, self.name)
