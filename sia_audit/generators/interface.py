"""The generator interface the attack engine uses: G(x, a) over images and attribute vectors."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import TYPE_CHECKING, Self, TypeAlias

import torch
from torch import Tensor

# An opaque encoding of a batch of images: a tuple of tensors, each with the batch on dim 0.
# The engine may index, repeat, detach or move every tensor alike (see `map_latent`), e.g. to
# encode a probe once and decode many attribute variants, but must not rely on what they hold.
Latent: TypeAlias = tuple[Tensor, ...]


class Generator(ABC):
    """An attribute-conditioned image generator in the units of docs/design.md.

    Images are float tensors (B, 3, S, S) in [0, 1] with S = `image_size`; attribute vectors are
    (B, K) in [0, 1] with K = len(`attr_names`), column k meaning `attr_names[k]`. Both
    `encode` and `decode` are differentiable in their inputs. Implementations are returned in
    inference mode (batch composition does not change a single image's output).
    """

    attr_names: tuple[str, ...]
    image_size: int

    @property
    def num_attrs(self) -> int:
        return len(self.attr_names)

    @abstractmethod
    def encode(self, x: Tensor) -> Latent:
        """Encode images (B, 3, S, S) in [0, 1]."""

    @abstractmethod
    def decode(self, z: Latent, a: Tensor) -> Tensor:
        """Decode a latent with attributes (B, K) in [0, 1] into images (B, 3, S, S) in [0, 1]."""

    def __call__(self, x: Tensor, a: Tensor) -> Tensor:
        return self.decode(self.encode(x), a)

    if TYPE_CHECKING:
        # An audit places its generator with nn.Module's to() and eval(), which the shipped
        # generators inherit. Declared for the type checker only: defined here, they would
        # shadow nn.Module's in a generator that lists Generator first.
        def to(self, device: torch.device | str) -> Self: ...
        def eval(self) -> Self: ...


def map_latent(z: Latent, fn: Callable[[Tensor], Tensor]) -> Latent:
    """Apply `fn` to every tensor of a latent, e.g. `lambda t: t[idx]` or `Tensor.detach`."""
    return tuple(fn(t) for t in z)
