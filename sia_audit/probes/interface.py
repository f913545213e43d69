"""What the audit needs from a probe set, whatever its source (files or the built-in renderer)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from torch import Tensor


@runtime_checkable
class ProbeSet(Protocol):
    """Probe images with their labelled attributes; images are decoded or rendered on demand."""

    attr_names: tuple[str, ...]
    names: tuple[str, ...]
    attrs: Tensor  # (N, K) in [0, 1], columns in the order of attr_names
    landmarks: Tensor | None  # (N, 68, 2) pixels of the delivered images, or None

    def __len__(self) -> int: ...

    @property
    def output_size(self) -> tuple[int, int]: ...  # (H, W) of load_images

    def load_images(self, indices: Sequence[int]) -> Tensor: ...  # (B, 3, H, W) in [0, 1]

    def manifest_sha256(self) -> str: ...


@runtime_checkable
class TruthOracle(Protocol):
    """A probe set that can draw its probes with other attributes: the true edit G should make.

    Only a renderer can (synthfaces); the editability check uses it to check the generator and
    the attribute classifier against truth.
    """

    def render_edits(self, indices: Sequence[int], attrs: Tensor) -> Tensor: ...
