"""Path attribution: each step's gradient times the step it drove, per attribute and
for the image; together they add up to the first-order loss change along the path."""

from __future__ import annotations

import pytest
import torch

from sia_audit.attacks.config import AttackConfig
from sia_audit.attacks.engine import attack
from sia_audit.targets.contract import Target, TargetContract
from tests.attacks.conftest import ATTRS, LinearGenerator, LinearLogit, probes


def linear_models(seed: int = 0) -> tuple[LinearGenerator, Target]:
    g = torch.Generator().manual_seed(seed)
    weight = torch.randn(len(ATTRS), 3 * 8 * 8, generator=g) * 0.05
    w = torch.randn(3, 8, 8, generator=g)
    target = Target(LinearLogit(w), TargetContract("binary", (8, 8), label="Eyeglasses"))
    return LinearGenerator(weight, 8), target


def run(variant: str, steps: int = 20, eta: float = 0.2 / 255, **kw):  # noqa: ANN003, ANN201
    gen, target = linear_models()
    x, a, y = probes(6, size=8)
    x = x * 0.5 + 0.25  # room to move inside [0, 1]
    a = a * 0.5 + 0.25
    config = AttackConfig(variant=variant, steps=steps, eta_x=eta, eta_a=eta * 20, eps_x=4 / 255)
    return attack(x, a, y, generator=gen, target=target, task=target.task, config=config, **kw)


@pytest.mark.parametrize("variant", ["full", "attr", "image", "attr+partial-image"])
def test_the_terms_add_up_to_the_loss_change(variant: str) -> None:
    r = run(variant)
    assert r.path_a is not None and r.path_x is not None
    first_order = r.path_a.sum(dim=1) + r.path_x
    change = r.loss_adv - r.loss_start
    # Small steps on a linear G and logit: the path sum matches the change to second order.
    torch.testing.assert_close(first_order, change, rtol=0.05, atol=1e-4)
    assert bool((change > 0).all())  # the attack ascends
    if variant == "image":
        assert bool((r.path_a == 0).all())
    if variant == "attr":
        assert bool((r.path_x == 0).all())


def test_an_attribute_that_never_moves_carries_nothing() -> None:
    mask = torch.tensor([False, True, False, False, False])
    r = run("full", update_mask=mask)
    assert r.path_a is not None
    assert bool((r.path_a[:, ~mask] == 0).all()) and bool((r.path_a[:, 1] != 0).any())
    frozen = run("full", eps_a=torch.tensor([1.0, 1.0, 0.0, 1.0, 1.0]))
    assert frozen.path_a is not None and bool((frozen.path_a[:, 2] == 0).all())


def test_pixel_attacks_have_no_path_attribution() -> None:
    r = run("pgd")
    assert r.path_a is None and r.path_x is None


def test_shares_are_fractions_of_the_first_order_increase() -> None:
    from sia_audit.metrics import BootstrapConfig
    from sia_audit.metrics.path import path_attribution

    included = torch.tensor([True, True, False, True, True])  # Eyeglasses frozen
    r = run("full", eps_a=included.float())
    assert r.path_a is not None and r.path_x is not None
    p = path_attribution(
        r.path_a, r.path_x, included, names=ATTRS, config=BootstrapConfig(resamples=100)
    )
    assert p.attributes == ("Bald", "Bangs", "Male", "Smiling") and p.excluded == ("Eyeglasses",)
    shares = sum(s.value for s in p.share) + p.image_share.value
    assert shares == pytest.approx(1.0)  # the frozen attribute's term is zero
    total = float((r.path_a.sum(dim=1) + r.path_x).mean())
    assert p.total.value == pytest.approx(total, rel=1e-6)
    assert "Path share of Bald" in p.share[0].definition
