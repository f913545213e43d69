"""Training faces for the demo targets: rendered synthfaces, their labels and landmarks.

Every demo target reads 64x64 RGB images normalised with mean = std = 0.5 (its contract says
so), and is trained on a mix of raw renders and the shipped generator's reconstructions
G(x, a), so that an audit through G measures the target, not G's reconstruction error.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import torch
from torch import Tensor

from sia_audit.probes.synthfaces.attributes import INDEX
from sia_audit.probes.synthfaces.params import IDENTITY_PARAMS, NUISANCE_PARAMS, sample_unit
from sia_audit.probes.synthfaces.renderer import render
from sia_audit.probes.synthfaces.sampler import AttributeSampler

SIZE = 64
MEAN = (0.5, 0.5, 0.5)
STD = (0.5, 0.5, 0.5)


def shipped_generator() -> Path:
    """The generator checkpoint the demo targets are trained through (`builtin:synthfaces`)."""
    return Path(str(resources.files("sia_audit") / "assets" / "synthfaces_attgan64.pt"))


def faces(
    n: int,
    rng: torch.Generator,
    sampler: AttributeSampler,
    label: str | None = None,
    label_reliability: float = 1.0,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """n rendered faces: images in [0, 1], drawn intensities, on/off states, landmarks in [0, 1].

    With a `label` attribute and `label_reliability` < 1, that attribute is drawn the opposite
    way on the other faces while its on/off state (the training label) stays: there the labels
    disagree with the pictures.
    """
    ident = sample_unit(n, IDENTITY_PARAMS, rng)
    nu = sample_unit(n, NUISANCE_PARAMS, rng)
    on, attrs = sampler.sample(n, rng)
    if label is not None and label_reliability < 1:
        k = INDEX[label]
        flip = torch.rand(n, generator=rng) >= label_reliability
        drawn_on = on[:, k] ^ flip
        lo = torch.where(drawn_on, sampler.on_range[0], sampler.off_range[0])
        hi = torch.where(drawn_on, sampler.on_range[1], sampler.off_range[1])
        attrs = attrs.clone()
        attrs[:, k] = lo + (hi - lo) * torch.rand(n, generator=rng)
    r = render(ident, nu, attrs, SIZE)
    return r.images, attrs, on, r.landmarks / SIZE


def normalise(x: Tensor) -> Tensor:
    """Images in [0, 1] to the demo targets' input: (x - MEAN) / STD per channel."""
    return (x - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)
