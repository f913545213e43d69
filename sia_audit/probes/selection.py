"""A chosen subset of a probe set (`generate --where`), seen as a probe set of its own."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence

import torch
from torch import Tensor

from sia_audit.errors import DataError, UsageError
from sia_audit.probes.interface import ProbeSet

_WHERE = re.compile(r"^\s*([A-Za-z0-9_]+)\s*=\s*([01])\s*$")


def parse_where(specs: Sequence[str], attr_names: Sequence[str]) -> tuple[tuple[str, bool], ...]:
    """'ATTR=1' / 'ATTR=0' filters: the attribute on (>= 0.5) or off; one line per mistake."""
    out: list[tuple[str, bool]] = []
    for spec in specs:
        m = _WHERE.match(spec)
        if m is None:
            raise UsageError(f"--where {spec!r} is malformed; write ATTRIBUTE=1 or ATTRIBUTE=0")
        name = m.group(1)
        if name not in attr_names:
            raise UsageError(
                f"--where {spec!r} names {name!r}, which the generator does not have; use one "
                f"of {', '.join(attr_names)}"
            )
        if any(n == name for n, _ in out):
            raise UsageError(f"--where names {name} twice; give each attribute once")
        out.append((name, m.group(2) == "1"))
    return tuple(out)


def matching(probes: ProbeSet, where: Sequence[tuple[str, bool]]) -> list[int]:
    """Indices of the probes whose attributes satisfy every filter, in probe order."""
    keep = torch.ones(len(probes), dtype=torch.bool)
    for name, on in where:
        column = probes.attrs[:, probes.attr_names.index(name)] >= 0.5
        keep &= column if on else ~column
    return [int(i) for i in keep.nonzero().flatten()]


class Selection:
    """Probes `indices` of `base` (in that order, repeats allowed), as a probe set."""

    def __init__(self, base: ProbeSet, indices: Sequence[int]) -> None:
        if not indices:
            raise DataError("the selection holds no probe; loosen the filters")
        self.base, self.indices = base, [int(i) for i in indices]
        idx = torch.tensor(self.indices, dtype=torch.long)
        self.attr_names = base.attr_names
        self.names = tuple(base.names[i] for i in self.indices)
        self.attrs: Tensor = base.attrs[idx]
        self.landmarks: Tensor | None = None if base.landmarks is None else base.landmarks[idx]

    def __len__(self) -> int:
        return len(self.indices)

    @property
    def output_size(self) -> tuple[int, int]:
        return self.base.output_size

    def load_images(self, indices: Sequence[int]) -> Tensor:
        return self.base.load_images([self.indices[i] for i in indices])

    def manifest_sha256(self) -> str:
        h = hashlib.sha256(self.base.manifest_sha256().encode())
        h.update(",".join(map(str, self.indices)).encode())
        return h.hexdigest()
