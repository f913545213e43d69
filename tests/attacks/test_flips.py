"""Counterfactual flips equal a literal per-attribute loop, whatever the chunking."""

from __future__ import annotations

import pytest
import torch

from sia_audit.attacks import per_probe_flips
from sia_audit.errors import DataError
from sia_audit.generators.flips import flipped, label_changers, label_partners
from sia_audit.generators.interface import Generator
from sia_audit.targets.contract import Target
from tests.attacks.conftest import ATTRS, probes


@pytest.mark.parametrize("max_rows", [1, 7, 256])
def test_flips_equal_a_literal_loop(max_rows: int, attgan: Generator, target: Target) -> None:
    x0, a0, y = probes(6, seed=3)
    loss, changed = per_probe_flips(
        x0, a0, y, generator=attgan, target=target, task=target.task, names=ATTRS,
        max_rows=max_rows,
    )  # fmt: skip
    assert loss.shape == changed.shape == (6, 5) and changed.dtype == torch.bool
    out = target(attgan(x0, a0))
    base, right = target.task.loss(out, y), target.task.correct(out, y).bool()
    for k in range(5):
        flip = target(attgan(x0, flipped(a0, k, ATTRS)))
        want = target.task.loss(flip, y) - base
        torch.testing.assert_close(loss[:, k], want, rtol=1e-4, atol=1e-6)
        assert torch.equal(changed[:, k], target.task.correct(flip, y).bool() != right)
    assert loss.abs().sum() > 0


def test_flips_refuse_mismatched_inputs(attgan: Generator, target: Target) -> None:
    x0, a0, y = probes(4, seed=3)
    with pytest.raises(DataError, match="same 4 probes"):
        per_probe_flips(x0, a0, y[:3], generator=attgan, target=target, task=target.task,
                        names=ATTRS)  # fmt: skip
    with pytest.raises(DataError, match="5 names"):
        per_probe_flips(x0, a0, y, generator=attgan, target=target, task=target.task,
                        names=ATTRS[:4])  # fmt: skip


def test_label_partners_are_the_label_s_exclusive_group() -> None:
    names = ("Black_Hair", "Blond_Hair", "Brown_Hair", "Eyeglasses", "Male")
    assert label_partners(names, ("Blond_Hair",)) == ("Black_Hair", "Brown_Hair")
    assert label_partners(names, ("Eyeglasses",)) == ()
    assert label_partners(names, ()) == ()


def test_label_changers_are_the_partners_then_the_leaky_once_each_in_name_order() -> None:
    names = ("Bald", "Black_Hair", "Blond_Hair", "Brown_Hair", "Young")
    frozen = ("Brown_Hair",)
    assert label_changers(names, frozen) == ("Black_Hair", "Blond_Hair")
    got = label_changers(names, frozen, ["Young", "Bald", "Black_Hair"])
    assert got == ("Black_Hair", "Blond_Hair", "Bald", "Young")
    assert label_changers(names, (), {"Young"}) == ("Young",)
