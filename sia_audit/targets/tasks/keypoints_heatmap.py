"""keypoints-heatmap: one heatmap per landmark."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from sia_audit.errors import ModelError
from sia_audit.targets.tasks._keypoints import IBUG68_OUTER_EYE_CORNERS, KeypointTask
from sia_audit.targets.tasks.base import (
    Contract,
    Task,
    as_tensor,
    float_dtype,
    register_task,
    shape,
)


@register_task("keypoints-heatmap")
class HeatmapTask(KeypointTask):
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
    def from_contract(cls, contract: Contract) -> Task:
        return cls(contract.num_keypoints, contract.heatmap_sigma, contract.nme_failure)

    def check(self, output: Tensor, label: Tensor) -> Tensor:
        output = as_tensor(output, self.name)
        p = "P" if self.num_keypoints is None else str(self.num_keypoints)
        if output.dim() != 4 or self.num_keypoints not in (None, output.shape[1]):
            raise ModelError(
                f"keypoints-heatmap target must output (B, {p}, h, w) heatmaps but got "
                f"{shape(output)}; fix the model's head or the contract's num_keypoints"
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
        dt = float_dtype(output)
        target = self.heatmaps(label, (output.shape[2], output.shape[3]), dt)
        return F.mse_loss(output.to(dt), target, reduction="none").mean(dim=(1, 2, 3))

    def predict(self, output: Tensor) -> Tensor:
        """Per-map argmax as normalised (x, y) at the pixel centre, (B, P, 2)."""
        output = as_tensor(output, self.name)
        h, w = output.shape[-2:]
        idx = output.flatten(2).argmax(dim=2)
        dt = float_dtype(output)
        x = ((idx % w).to(dt) + 0.5) / w
        y = (torch.div(idx, w, rounding_mode="floor").to(dt) + 0.5) / h
        return torch.stack([x, y], dim=-1)
