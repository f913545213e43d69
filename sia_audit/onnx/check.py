"""Clean accuracy of an ONNX model on the probe set and its parity with the torch target."""

from __future__ import annotations

import torch
from torch import Tensor

from sia_audit import defaults
from sia_audit.metrics import BootstrapConfig, accuracy, mean_estimate
from sia_audit.onnx.results import OnnxParity, OnnxResult
from sia_audit.onnx.runtime import OnnxTarget
from sia_audit.probes.interface import ProbeSet
from sia_audit.targets.contract import Target

KEYPOINT_TOLERANCE = 1e-4  # predicted points closer than this count as the same prediction


def same_prediction(a: Tensor, b: Tensor) -> Tensor:
    """Bool (B,): labels equal, or (keypoints) every coordinate within KEYPOINT_TOLERANCE."""
    if a.is_floating_point() or b.is_floating_point():
        close = (a.double() - b.double()).abs() <= KEYPOINT_TOLERANCE
        return close.reshape(close.shape[0], -1).all(dim=1)
    return (a == b).reshape(a.shape[0], -1).all(dim=1)


def _device_of(target: Target) -> torch.device:
    return target.mean.device


@torch.no_grad()
def check_onnx(
    onnx: OnnxTarget,
    probes: ProbeSet,
    *,
    torch_target: Target | None = None,
    torch_source: str = "",
    bootstrap: BootstrapConfig,
    batch_size: int = defaults.BATCH_SIZE,
    sha256: str = "",
) -> OnnxResult:
    """Run the ONNX model (and the torch target, if given) on every clean probe."""
    task = onnx.target.task
    labels = task.labels(probes)
    correct: list[Tensor] = []
    agree: list[Tensor] = []
    max_diff = 0.0
    for start in range(0, len(probes), batch_size):
        idx = list(range(start, min(start + batch_size, len(probes))))
        x = probes.load_images(idx)
        y = labels[idx]
        out = task.check(onnx.target(x).float(), y)
        correct.append(task.correct(out, y).cpu())
        if torch_target is not None:
            ref = torch_target(x.to(_device_of(torch_target)))
            ref = torch_target.task.check(ref, y.to(_device_of(torch_target))).float().cpu()
            max_diff = max(max_diff, float((out - ref).abs().max()))
            agree.append(same_prediction(task.predict(out), torch_target.task.predict(ref)))
    clean = accuracy(
        torch.cat(correct).bool(), images="clean images x0, run by ONNX Runtime", config=bootstrap
    )
    parity = None
    if torch_target is not None:
        n = len(probes)
        parity = OnnxParity(
            max_abs_diff=max_diff,
            agreement=mean_estimate(
                torch.cat(agree).double(),
                f"Agreement: fraction of the {n} probes on which the ONNX model's prediction "
                "equals the torch target's",
                bootstrap,
            ),
            torch_target=torch_source,
        )
    return OnnxResult(
        model=onnx.source,
        sha256=sha256,
        provider=onnx.provider,
        onnxruntime_version=onnx.onnxruntime_version,
        clean_accuracy=clean,
        parity=parity,
    )
