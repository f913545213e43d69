"""A trained target as TorchScript, its contract and provenance inside the archive."""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from scripts.training.data import SIZE


def write_target(
    model: nn.Module, path: Path, contract: dict[str, Any], provenance: dict[str, Any]
) -> None:
    """Trace to TorchScript with the contract and provenance inside the archive.

    `contract` becomes `sia_target.json` (what `load_target` reads), `provenance` becomes
    `sia_provenance.json`. The model is traced at 64x64 (SIZE), in the mode it is in: call
    `.eval()` first so that batch norm uses its running statistics.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit's deprecation notice; the archive is fine
        scripted = torch.jit.trace(model, torch.zeros(1, 3, SIZE, SIZE))
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.jit.save(
            scripted,
            str(path),
            _extra_files={
                "sia_target.json": json.dumps(contract),
                "sia_provenance.json": json.dumps(provenance),
            },
        )
