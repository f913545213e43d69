"""Attribute effect equals a literal per-attribute loop, whatever the chunking."""

from __future__ import annotations

import pytest
import torch

from sia_audit.attacks import AttackConfig, attack, per_probe_effects
from sia_audit.generators.interface import Generator
from sia_audit.targets.contract import Target
from tests.attacks.conftest import probes


@pytest.mark.parametrize("max_rows", [1, 7, 256])
def test_effect_equals_a_literal_loop(max_rows: int, attgan: Generator, target: Target) -> None:
    x0, a0, y = probes(6, seed=2)
    out = attack(
        x0,
        a0,
        y,
        generator=attgan,
        target=target,
        task=target.task,
        config=AttackConfig(steps=5, eta_a=0.05, eta_x=1 / 255),
        eps_a=torch.tensor([1.0, 1.0, 0.0, 1.0, 1.0]),
    )
    effect = per_probe_effects(
        out.x_T,
        out.a0,
        out.a_T,
        y,
        generator=attgan,
        target=target,
        task=target.task,
        max_rows=max_rows,
    )
    assert effect.shape == (6, 5)
    base = target.task.loss(target(attgan(out.x_T, out.a_T)), y)
    torch.testing.assert_close(base, out.loss_adv)
    for k in range(5):
        reset = out.a_T.clone()
        reset[:, k] = out.a0[:, k]
        want = base - target.task.loss(target(attgan(out.x_T, reset)), y)
        torch.testing.assert_close(effect[:, k], want, rtol=1e-4, atol=1e-6)
    # The frozen attribute never moved: its effect is exactly zero.
    assert torch.equal(effect[:, 2], torch.zeros(6))
    assert effect.abs().sum() > 0
