"""Stand-ins shared by the gate tests."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

# The block name each figure has in an audit result, and the attribute the fakes keep it under.
BLOCKS = {
    "sensitivity": "sensitivity",
    "attribute_effect": "effects",
    "path_attribution": "path_attribution",
    "weighted_sensitivity": "weighted",
    "counterfactual_flips": "flips",
}


class FakeResult(SimpleNamespace):
    """An audit result's figures as attributes, read by name as results.AuditResult.block is."""

    def block(self, name: str) -> Any:
        return getattr(self, BLOCKS[name], None) if name in BLOCKS else None
