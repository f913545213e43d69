"""sia-audit: a model-audit CI gate built on Semantic Image Attack (SIA).

`sia_audit.save_target(model, "model.pt2", task=..., ...)` saves a model with the contract
`sia-audit run` reads (sia_audit/targets/saving.py). It is imported on first use, so that
`import sia_audit` (the CLI's --version and --help) does not import torch.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "save_target"]


def __getattr__(name: str) -> Any:
    if name == "save_target":
        from sia_audit.targets.saving import save_target

        return save_target
    raise AttributeError(f"module 'sia_audit' has no attribute {name!r}")
