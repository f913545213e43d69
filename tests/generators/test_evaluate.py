"""The held-out evaluation's figures on generators whose answers are known."""

from __future__ import annotations

import pytest
import torch
from torch import Tensor

from sia_audit.generators.training.evaluate import evaluate, held_out
from sia_audit.probes.synthfaces.attributes import ATTRIBUTES


class Copier(torch.nn.Module):
    """Ignores the attributes and returns its input: the 'copying x' baseline itself."""

    image_size = 32

    def forward(self, x: Tensor, a: Tensor) -> Tensor:
        return x


def test_a_copier_scores_the_baseline_and_a_perfect_ceiling() -> None:
    fig = evaluate(Copier(), held_out(8, 32))  # type: ignore[arg-type]
    assert fig.reconstruction == pytest.approx(100.0)  # exact copy: the 1e-10 floor
    for name in ATTRIBUTES:
        assert fig.flip_by_attr[name] == pytest.approx(fig.baseline_by_attr[name])
        assert fig.gain(name) == pytest.approx(0.0)
        # Given the true edit as input, a copier reproduces it exactly: no decoder limit ...
        assert fig.region_ceiling_by_attr[name] == pytest.approx(100.0)
        # ... while its flip, which leaves the region as it was, is far from the truth there.
        assert fig.region_by_attr[name] < 40
