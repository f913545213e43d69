"""Save a model with its contract, in a file `sia-audit run` loads: `save_target`.

The contract (`sia_target.json` inside the file) says what the model takes and returns, so the
audit can feed it: the generator's images are in [0, 1], RGB, at the generator's size; the audit
resizes them (bilinear) to `input_size` and normalises them with `mean` and `std`, then calls the
model. So save the model *without* its own resizing and normalisation, as it is called on a
normalised batch of `input_size` images, in eval mode.

`.pt2` files are torch.export programs (the recommended format; torch marks TorchScript as
deprecated); `.pt` files are TorchScript archives (traced). Either way the file is checked as the
audit will load it (the contract, one forward pass with an input gradient) before it replaces
anything at `path`.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import nn

from sia_audit.errors import ModelError, OutputError, SiaAuditError, UsageError
from sia_audit.targets.contract import Target, TargetContract
from sia_audit.targets.loading import CONTRACT_FILE, EXPORT_SUFFIXES, load_target

PROVENANCE_FILE = "sia_provenance.json"
TORCHSCRIPT_SUFFIX = ".pt"


def _first_line(exc: BaseException) -> str:
    lines = str(exc).strip().splitlines()
    return lines[0][:200] if lines else type(exc).__name__


def save_target(
    model: nn.Module,
    path: str | os.PathLike[str],
    *,
    task: str,
    input_size: tuple[int, int] | Sequence[int],
    label: str | None = None,
    classes: Sequence[str] | None = None,
    mean: Sequence[float] = (0.0, 0.0, 0.0),
    std: Sequence[float] = (1.0, 1.0, 1.0),
    num_keypoints: int | None = None,
    heatmap_sigma: float | None = None,
    nme_failure: float | None = None,
    provenance: Mapping[str, Any] | None = None,
) -> Target:
    """Save `model` with its contract to `path` (`.pt2`: torch.export; `.pt`: TorchScript) and
    return it loaded back exactly as `sia-audit run` will load it.

    task: `binary` (one logit, (B,) or (B, 1), for the probe attribute `label`), `multiclass`
    (logits (B, C) over `classes`, probe attribute names, `none` for none of them),
    `keypoints-heatmap` ((B, P, h, w) heatmaps) or `keypoints-coords` ((B, P, 2) in [0, 1]
    image coordinates), P = `num_keypoints` (68 for the probes' landmarks).
    input_size: (height, width) the model takes; mean, std: the RGB normalisation it expects
    in [0, 1] units (ImageNet: (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)). The audit
    resizes and normalises: `model` must not. provenance: any JSON, kept beside the contract.

    A contract that does not fit the model (an output of another shape, no input gradient,
    non-finite outputs) raises a one-line SiaAuditError and leaves `path` as it was.
    """
    path = Path(path)
    fields: dict[str, Any] = {
        "task": task,
        "input_size": list(input_size),
        "mean": list(mean),
        "std": list(std),
        "label": label,
        "classes": None if classes is None else list(classes),
        "num_keypoints": num_keypoints,
        "heatmap_sigma": heatmap_sigma,
        "nme_failure": nme_failure,
    }
    contract = TargetContract.from_mapping({k: v for k, v in fields.items() if v is not None})
    if not isinstance(model, nn.Module):
        raise UsageError(f"save_target needs a torch nn.Module, got {type(model).__name__}")
    suffix = path.suffix
    if suffix not in (*EXPORT_SUFFIXES, TORCHSCRIPT_SUFFIX):
        raise UsageError(
            f"save_target writes .pt2 (torch.export, recommended) or .pt (TorchScript), not "
            f"{path.name!r}; name the file model.pt2"
        )
    extra = {CONTRACT_FILE: json.dumps(contract.as_dict(), sort_keys=True)}
    if provenance is not None:
        extra[PROVENANCE_FILE] = json.dumps(dict(provenance), sort_keys=True)
    model = model.eval()
    h, w = contract.input_size
    # A batch of 2: a batch of 1 lets tracers treat the batch size as a constant.
    example = torch.rand(2, 3, h, w, generator=torch.Generator().manual_seed(0))
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=suffix, dir=path.parent)
        os.close(fd)
    except OSError as exc:
        raise OutputError(
            f"cannot write {path}: {exc.strerror}; choose a writable location"
        ) from exc
    tmp = Path(tmp_name)
    try:
        _write(model, example, tmp, extra)
        try:
            loaded = load_target(str(tmp))
        except SiaAuditError as exc:
            raise type(exc)(str(exc).replace(str(tmp), str(path))) from exc
        umask = os.umask(0)  # mkstemp made it 0600: give it the mode open() would
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(OSError):
            tmp.unlink()
    return loaded


def _write(model: nn.Module, example: torch.Tensor, tmp: Path, extra: dict[str, str]) -> None:
    if tmp.suffix in EXPORT_SUFFIXES:
        try:
            batch = torch.export.Dim("batch")
            program = torch.export.export(model, (example,), dynamic_shapes=({0: batch},))
        except Exception as exc:  # torch.export raises many kinds; the first line says which
            raise ModelError(
                f"torch.export cannot export the model ({_first_line(exc)}); make its forward "
                "exportable (see the torch.export documentation) or save it as .pt (TorchScript)"
            ) from exc
        torch.export.save(program, str(tmp), extra_files=extra)
        return
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # TorchScript's deprecation notice: .pt2 is preferred
            traced = torch.jit.trace(model, example)
            torch.jit.save(traced, str(tmp), _extra_files=extra)
    except Exception as exc:
        raise ModelError(
            f"torch.jit.trace cannot trace the model ({_first_line(exc)}); save it as .pt2 "
            "(torch.export) instead"
        ) from exc
