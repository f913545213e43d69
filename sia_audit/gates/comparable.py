"""When two reports can be compared: the same probes, generator and attack (no torch here)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sia_audit.errors import DataError

# What must match for two audits to be comparable, as recorded in the report's provenance.
COMPARABLE = ("probe_manifest_sha256", "generator_sha256", "attack", "baselines")


def differing_provenance(base: Mapping[str, Any], head: Mapping[str, Any]) -> list[str]:
    """The COMPARABLE keys on which two reports' provenance differ."""
    return [key for key in COMPARABLE if _canonical(base.get(key)) != _canonical(head.get(key))]


def refuse_if(differ: Sequence[str], where: str) -> None:
    if differ:
        raise DataError(
            f"baseline {where} is not comparable: {', '.join(differ)} differ; make the baseline "
            "with the same policy (probes, generator, attack) on the base branch"
        )


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)
