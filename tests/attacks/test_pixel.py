"""FGSM and PGD give torchattacks' adversaries on the same model and settings."""

from __future__ import annotations

from types import ModuleType

import pytest
import torch

from sia_audit.attacks import AttackConfig, attack, fgsm, pgd
from sia_audit.targets.contract import Target
from tests.attacks.conftest import multiclass_target

try:
    import torchattacks
except ImportError:  # a dev requirement: its absence fails the parity tests, never skips them
    torchattacks = None

EPS, ALPHA, STEPS = 4 / 255, 1 / 255, 10


def reference() -> ModuleType:
    """torchattacks, or the parity test fails with the fix."""
    if torchattacks is None:
        pytest.fail(
            "torchattacks is not installed; it is a dev requirement of the parity tests: "
            "run bash scripts/setup.sh (or .venv/bin/pip install --no-deps torchattacks==3.5.1)",
            pytrace=False,
        )
    return torchattacks


@pytest.fixture(scope="module")
def setup() -> tuple[Target, torch.Tensor, torch.Tensor]:
    target = multiclass_target(classes=4)
    g = torch.Generator().manual_seed(0)
    # 8 probes: a power of two, so torchattacks' mean loss and our summed loss give
    # gradients that differ by an exact power-of-two factor (identical signs, bit for bit).
    x = torch.rand(8, 3, 32, 32, generator=g)
    x[:, :, :2] = x[:, :, :2].round()  # pixels on the box faces
    y = torch.randint(0, 4, (8,), generator=g)
    return target, x, y


def test_fgsm_matches_torchattacks(setup: tuple[Target, torch.Tensor, torch.Tensor]) -> None:
    target, x, y = setup
    want = reference().FGSM(target, eps=EPS)(x, y)
    got = fgsm(x, y, target=target, task=target.task, eps_x=EPS)
    assert torch.equal(got, want)
    via_engine = attack(
        x,
        None,
        y,
        generator=None,
        target=target,
        task=target.task,
        config=AttackConfig(variant="fgsm", eps_x=EPS),
    )
    assert torch.equal(via_engine.adversary, want)
    assert via_engine.a0 is None and via_engine.a_T is None


def test_pgd_matches_torchattacks(setup: tuple[Target, torch.Tensor, torch.Tensor]) -> None:
    target, x, y = setup
    want = reference().PGD(target, eps=EPS, alpha=ALPHA, steps=STEPS, random_start=False)(x, y)
    got = pgd(x, y, target=target, task=target.task, eps_x=EPS, eta_x=ALPHA, steps=STEPS)
    assert torch.equal(got, want)
    assert (got - x).abs().max() > 0
    config = AttackConfig(variant="pgd", steps=STEPS, eta_x=ALPHA, eps_x=EPS)
    via_engine = attack(x, None, y, generator=None, target=target, task=target.task, config=config)
    assert torch.equal(via_engine.adversary, want)
    torch.testing.assert_close(
        via_engine.loss_adv, torch.nn.functional.cross_entropy(target(want), y, reduction="none")
    )


def test_pgd_random_start_is_seeded_like_torchattacks_global_seed(
    setup: tuple[Target, torch.Tensor, torch.Tensor],
) -> None:
    # On CPU a torch.Generator seeded with s draws the same stream as torch.manual_seed(s).
    target, x, y = setup
    torch.manual_seed(7)
    want = reference().PGD(target, eps=EPS, alpha=ALPHA, steps=3, random_start=True)(x, y)
    got = pgd(
        x,
        y,
        target=target,
        task=target.task,
        eps_x=EPS,
        eta_x=ALPHA,
        steps=3,
        random_start=True,
        seed=7,
    )
    assert torch.equal(got, want)
    again = pgd(
        x,
        y,
        target=target,
        task=target.task,
        eps_x=EPS,
        eta_x=ALPHA,
        steps=3,
        random_start=True,
        seed=7,
    )
    assert torch.equal(got, again)


def test_pgd_steps_stay_in_the_ball(setup: tuple[Target, torch.Tensor, torch.Tensor]) -> None:
    target, x, y = setup
    seen = []

    def check(i: int, adv: torch.Tensor) -> None:
        seen.append(i)
        assert (adv - x).abs().max() <= EPS + 1e-6 and adv.min() >= 0 and adv.max() <= 1

    pgd(x, y, target=target, task=target.task, eps_x=EPS, eta_x=2 * ALPHA, steps=4, on_step=check)
    assert seen == [1, 2, 3, 4]


def test_a_missing_torchattacks_fails_the_parity_tests(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(globals(), "torchattacks", None)
    with pytest.raises(pytest.fail.Exception, match="dev requirement"):
        reference()
