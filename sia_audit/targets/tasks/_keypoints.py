"""What the two keypoint tasks share: landmark labels and the NME error."""

from __future__ import annotations

import torch
from torch import Tensor

from sia_audit.errors import DataError, ModelError
from sia_audit.metrics.accuracy import failure_rate, keypoint_attack_success_rate, mean_nme
from sia_audit.metrics.bootstrap import BootstrapConfig
from sia_audit.probes.interface import ProbeSet
from sia_audit.targets.tasks.base import (
    ErrorFigures,
    Outcome,
    Task,
    check_batch,
    float_dtype,
    shape,
)

# Outer eye corners in the 0-based iBUG-68 layout: the inter-ocular distance of the NME.
IBUG68_OUTER_EYE_CORNERS = (36, 45)


class KeypointTask(Task):
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

    keypoints = True

    def labels(self, probes: ProbeSet) -> Tensor:
        if probes.landmarks is None:
            raise DataError("a keypoint target needs probe landmarks; this probe set has none")
        h, w = probes.output_size
        return probes.landmarks / torch.tensor([w, h], dtype=probes.landmarks.dtype)

    def exported_landmarks(self, probes: ProbeSet) -> Tensor | None:
        """The probes' own landmarks: they are the label the attack ascended against."""
        return probes.landmarks

    def attack_figures(self, d: Outcome, attack: str, config: BootstrapConfig) -> ErrorFigures:
        """Success rate, mean NME and failure rate, all against the contract's nme_failure."""
        images = f"{attack} adversaries"
        t = self.nme_failure
        return ErrorFigures(
            keypoint_attack_success_rate(
                d.error_clean, d.error_adv, t, attack=attack, config=config
            ),
            mean_nme(d.error_adv, images=images, config=config),
            failure_rate(d.error_adv, t, images=images, config=config),
        )

    def dummy_labels(self) -> Tensor:
        k = self.num_keypoints or 68
        return torch.rand(2, k, 2, generator=torch.Generator().manual_seed(1)) * 0.5 + 0.25

    def _check_points(self, output: Tensor, label: Tensor) -> None:
        p = self.num_keypoints if self.num_keypoints is not None else output.shape[1]
        if label.dim() != 3 or label.shape[1:] != (p, 2):
            raise DataError(
                f"{self.name} labels must be (B, {p}, 2) normalised landmarks, got {shape(label)}"
            )
        check_batch(output, label, self.name)

    def error(self, output: Tensor, label: Tensor) -> Tensor:
        """NME: mean point distance / inter-ocular distance of the ground truth."""
        pred = self.predict(self.check(output, label))
        left, right = self.eye_corners
        if label.shape[1] <= max(left, right):
            raise ModelError(
                f"NME needs points {left} and {right} (outer eye corners, iBUG-68) but the "
                f"target has {label.shape[1]} keypoints; use a 68-point layout"
            )
        dt = float_dtype(pred)
        gt = label.to(dt)
        iod = (gt[:, left] - gt[:, right]).norm(dim=-1)
        if not bool((iod > 0).all()):
            raise DataError("a probe's outer eye corners coincide: its NME is undefined")
        return (pred.to(dt) - gt).norm(dim=-1).mean(dim=1) / iod

    def correct(self, output: Tensor, label: Tensor) -> Tensor:
        return self.error(output, label) <= self.nme_failure
