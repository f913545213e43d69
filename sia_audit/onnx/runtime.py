"""An ONNX model as a sia-audit Target: an ONNX Runtime session behind the contract's adapter.

ONNX Runtime is asked for its CUDA provider only when torch sees a GPU: onnxruntime-gpu lists
CUDA as available on any machine, and asking for it without a GPU prints a libcuda error.
The contract comes from the model's `sia_target.json` metadata entry (written by
scripts/export_onnx.py), else from the torch target it is compared with; the policy's
`target:` section wins over both, as for torch targets.

ONNX Runtime is an extra (`sia-audit[onnx]` or `[onnx-gpu]`): it is imported only here, through
`import_onnxruntime`, which turns its absence into one line naming the extras.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import torch
from torch import Tensor

from sia_audit.errors import ModelError, SiaAuditError, UsageError
from sia_audit.targets.contract import Target, TargetContract
from sia_audit.targets.loading import CONTRACT_FILE, check_target, resolve_contract

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
EXTRAS = (
    "pip install 'sia-audit[onnx]' (or 'sia-audit[onnx-gpu]' for CUDA; one of the two, never both)"
)


class OnnxRuntimeMissing(SiaAuditError):
    """ONNX Runtime, which --onnx and check-onnx run the export with, is not installed."""


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def import_onnxruntime() -> ModuleType:
    """The onnxruntime module; without it, one line naming the extra that installs it."""
    try:
        import onnxruntime
    except ImportError as exc:
        if isinstance(exc, ModuleNotFoundError) and exc.name == "onnxruntime":
            message = f"ONNX Runtime is not installed; --onnx and check-onnx need it: {EXTRAS}"
        else:  # installed but broken, e.g. both builds installed, then one removed
            message = f"ONNX Runtime cannot be imported ({_one_line(exc)}); reinstall it: {EXTRAS}"
        raise OnnxRuntimeMissing(message) from None
    return onnxruntime


def providers_for(device: str) -> list[str]:
    """CUDA first when a GPU is present (and not refused by --device cpu), else the CPU."""
    ort = import_onnxruntime()

    gpu = device != "cpu" and torch.cuda.is_available()
    if gpu and CUDA in ort.get_available_providers():
        return [CUDA, CPU]
    return [CPU]


class OrtModel:
    """A callable over an InferenceSession: float32 NCHW torch tensor in, torch tensor out."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.input_name = session.get_inputs()[0].name

    def __call__(self, x: Tensor) -> Tensor:
        feed = {self.input_name: x.detach().to("cpu", torch.float32).contiguous().numpy()}
        (out, *_) = self.session.run(None, feed)
        return torch.from_numpy(np.asarray(out)).to(x.device)


@dataclass(frozen=True)
class OnnxTarget:
    """An ONNX model wrapped as a Target, with what a report says about how it ran."""

    source: str
    target: Target
    provider: str
    onnxruntime_version: str


def open_session(path: Path, device: str) -> Any:
    """An InferenceSession for `path`; a missing or non-ONNX file is one line naming the fix."""
    if path.is_dir():
        raise UsageError(f"onnx model {path} is a folder; give the .onnx file")
    if not path.is_file():
        raise UsageError(f"onnx model {path}: file not found; check the path")
    if path.suffix != ".onnx":
        raise UsageError(
            f"onnx model {path}: expected a .onnx file; export the model with torch.onnx.export "
            "(see scripts/export_onnx.py)"
        )
    ort = import_onnxruntime()
    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only: warnings about unused initialisers are noise
    try:
        return ort.InferenceSession(str(path), options, providers=providers_for(device))
    except Exception as exc:  # onnxruntime raises its own Fail/InvalidProtobuf classes
        raise ModelError(
            f"onnx model {path}: ONNX Runtime cannot load it ({_one_line(exc)}); "
            "give a valid ONNX file"
        ) from exc


def embedded_contract(session: Any) -> str:
    """The `sia_target.json` metadata entry of an ONNX model, or ''."""
    return session.get_modelmeta().custom_metadata_map.get(CONTRACT_FILE, "")


def check_input_shape(session: Any, contract: TargetContract, source: str) -> None:
    """The model's declared input must be (batch, 3, H, W) with the contract's H and W."""
    inputs = session.get_inputs()
    if len(inputs) != 1:
        raise ModelError(
            f"onnx model {source} has {len(inputs)} inputs; export it with one image input"
        )
    shape = list(inputs[0].shape)
    want = [None, 3, *contract.input_size]
    fits = len(shape) == 4 and all(
        w is None or not isinstance(s, int) or s == w for s, w in zip(shape, want, strict=True)
    )
    if not fits:
        h, w = contract.input_size
        raise ModelError(
            f"onnx model {source} takes input of shape {shape}, but the probes reach it as "
            f"(batch, 3, {h}, {w}) (its contract's input_size); export it at that size"
        )
    if inputs[0].type != "tensor(float)":
        raise ModelError(
            f"onnx model {source} takes {inputs[0].type}; export it with a float32 input"
        )


def load_onnx_target(
    source: Path,
    *,
    device: str = "auto",
    fallback_contract: TargetContract | None = None,
    policy_contract: Mapping[str, Any] | None = None,
) -> OnnxTarget:
    """Open, wrap with its contract and check an ONNX model (a finite output of the task's shape
    on a small batch), before any probe is run."""
    ort = import_onnxruntime()
    session = open_session(source, device)
    embedded = embedded_contract(session)
    if not embedded and fallback_contract is not None:
        embedded = json.dumps(fallback_contract.as_dict())
    contract = resolve_contract(str(source), embedded, policy_contract)
    check_input_shape(session, contract, str(source))
    target = Target(OrtModel(session), contract)
    check_target(
        target,
        str(source),
        what="onnx model",
        gradient=False,  # ONNX Runtime has none: the export is never attacked
        fix="export it with a dynamic batch axis at its contract's input size",
    )
    return OnnxTarget(str(source), target, session.get_providers()[0], ort.__version__)
