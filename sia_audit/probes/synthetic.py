"""The embedded default probe set: synthfaces drawn from a seed and rendered on demand."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence

import torch
from torch import Tensor

from sia_audit.errors import UsageError
from sia_audit.probes.synthfaces import SIZES
from sia_audit.probes.synthfaces.attributes import ATTRIBUTES
from sia_audit.probes.synthfaces.dataset import sample_faces
from sia_audit.probes.synthfaces.params import RENDERER_VERSION
from sia_audit.probes.synthfaces.renderer import render, render_landmarks
from sia_audit.probes.synthfaces.sampler import Correlation


class SynthProbes:
    """`count` synthetic faces from `seed`: nothing on disk, the same faces on every machine."""

    def __init__(
        self,
        count: int = 128,
        seed: int = 0,
        size: int = 64,
        correlations: Sequence[Correlation] = (),
    ) -> None:
        if count < 1:
            raise UsageError(f"a synthfaces probe set needs at least 1 face, got {count}")
        if size not in SIZES:
            raise UsageError(f"synthfaces size must be one of {SIZES}, got {size}")
        self.count, self.seed, self.size = count, seed, size
        self.correlations = tuple(correlations)
        self._faces = sample_faces(count, seed, self.correlations)
        self.attr_names: tuple[str, ...] = ATTRIBUTES
        self.names: tuple[str, ...] = tuple(f"synthfaces-{seed}-{i:06d}" for i in range(count))
        self.attrs: Tensor = self._faces.attrs
        self.landmarks: Tensor | None = render_landmarks(
            self._faces.identity, self._faces.nuisance, self.attrs, size
        )

    def __len__(self) -> int:
        return self.count

    def __repr__(self) -> str:
        return f"SynthProbes(count={self.count}, seed={self.seed}, size={self.size})"

    @property
    def output_size(self) -> tuple[int, int]:
        return (self.size, self.size)

    def load_images(self, indices: Sequence[int]) -> Tensor:
        idx = torch.as_tensor(list(indices), dtype=torch.long)
        f = self._faces
        return render(f.identity[idx], f.nuisance[idx], f.attrs[idx], self.size).images

    def render_edits(self, indices: Sequence[int], attrs: Tensor) -> Tensor:
        """The probes `indices` drawn with attributes `attrs` (B, K): the same faces, edited."""
        idx = torch.as_tensor(list(indices), dtype=torch.long)
        f = self._faces
        return render(f.identity[idx], f.nuisance[idx], attrs.cpu(), self.size).images

    def manifest_sha256(self) -> str:
        spec = {
            "source": "synthfaces",
            "renderer_version": RENDERER_VERSION,
            "count": self.count,
            "seed": self.seed,
            "size": self.size,
            "correlations": [f"{c.cause}->{c.effect}@{c.p}" for c in self.correlations],
        }
        h = hashlib.sha256(json.dumps(spec, sort_keys=True).encode())
        h.update(self.attrs.numpy().astype("<f4").tobytes())
        return h.hexdigest()
