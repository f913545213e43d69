"""The shared training loop: weights, soft targets, early stop."""

from __future__ import annotations

import torch
from torch import nn

from scripts.training import Batch, fit


def _model() -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(nn.Flatten(), nn.Linear(12, 1), nn.Flatten(0))


def _batch(weight: torch.Tensor | None = None) -> Batch:
    g = torch.Generator().manual_seed(1)
    x = torch.randn(8, 3, 2, 2, generator=g)
    return Batch(x, (x.sum(dim=(1, 2, 3)) > 0).float(), weight)


def test_zero_weights_leave_the_model_unchanged_and_weights_matter() -> None:
    frozen = _model()
    before = [p.clone() for p in frozen.parameters()]
    fit(frozen, lambda step: _batch(torch.zeros(8)), 5, lambda line: None, name="zero")
    assert all(torch.equal(a, b) for a, b in zip(before, frozen.parameters(), strict=True))
    moved = fit(_model(), lambda step: _batch(torch.ones(8)), 5, lambda line: None, name="one")
    assert not all(torch.equal(a, b) for a, b in zip(before, moved.parameters(), strict=True))


def test_soft_targets_train_and_stop_ends_early_with_a_logged_line() -> None:
    lines: list[str] = []
    seen: list[int] = []

    def soft(step: int) -> Batch:
        seen.append(step)
        b = _batch()
        return Batch(b.x, 0.25 + 0.5 * b.y)  # CutMix-like mixed labels

    model = fit(
        _model(),
        soft,
        100,
        lines.append,
        name="soft",
        eval_every=10,
        evaluate=lambda m: {"mean_logit": float(m(_batch().x).mean().detach())},
        stop=lambda step, figures: step >= 20,
    )
    assert seen == list(range(1, 21))
    assert len(lines) == 2 and lines[-1].startswith("soft step 20/100 loss ")
    assert "mean_logit" in lines[-1] and not model.training
