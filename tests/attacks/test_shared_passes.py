"""Passes computed once and shared, each equal to the pass it replaces.

The audit takes the reconstruction G(x0, a0) from the main attack's first step instead of
decoding it again, and hands its clean target output to the pixel baselines instead of letting
them compute it again.
"""

from __future__ import annotations

import dataclasses

import pytest
import torch

from sia_audit.attacks.config import AttackConfig
from sia_audit.attacks.engine import attack
from sia_audit.audit import AuditConfig, attribute_radii, audit
from sia_audit.errors import UsageError
from sia_audit.metrics import BootstrapConfig, psnr
from tests.attacks.conftest import binary_target, probes, tiny_attgan
from tests.core.test_audit import FakeProbes


@pytest.mark.parametrize("variant", ["full", "attr", "image", "attr+partial-image", "spt"])
def test_the_start_image_is_the_reconstruction(variant: str) -> None:
    g, t = tiny_attgan(), binary_target()
    x0, a0, y = probes(5)
    cfg = AttackConfig(variant=variant, steps=3, partial_steps=1)
    r = attack(x0, a0, y, generator=g, target=t, task=t.task, config=cfg)
    with torch.no_grad():
        recon = g(x0, a0)
    torch.testing.assert_close(r.start, recon, atol=0, rtol=0)


@pytest.mark.parametrize("variant", ["fgsm", "pgd"])
def test_a_shared_clean_output_gives_the_same_pixel_attack(variant: str) -> None:
    t = binary_target()
    x0, _, y = probes(5)
    cfg = AttackConfig(variant=variant, steps=3, eps_x=4 / 255, eta_x=1 / 255)
    plain = attack(x0, None, y, generator=None, target=t, task=t.task, config=cfg)
    with torch.no_grad():
        out = t(x0)
    shared = attack(
        x0, None, y, generator=None, target=t, task=t.task, config=cfg, clean_output=out
    )
    for field in dataclasses.fields(plain):
        a, b = getattr(plain, field.name), getattr(shared, field.name)
        if a is not None:
            torch.testing.assert_close(a, b, atol=0, rtol=0, msg=field.name)
    assert torch.equal(plain.start, x0)


def test_a_clean_output_is_refused_for_generator_attacks() -> None:
    g, t = tiny_attgan(), binary_target()
    x0, a0, y = probes(2)
    with pytest.raises(UsageError, match="pixel attacks"):
        attack(
            x0,
            a0,
            y,
            generator=g,
            target=t,
            task=t.task,
            config=AttackConfig(steps=1),
            clean_output=t(x0),
        )


def test_the_audit_measures_against_the_reconstruction() -> None:
    g, t = tiny_attgan(), binary_target()
    p = FakeProbes(n=6)
    cfg = AuditConfig(
        attack=AttackConfig(steps=3, eta_a=0.05, eps_x=4 / 255),
        baselines=(),
        bootstrap=BootstrapConfig(resamples=50),
        batch_size=4,
        effects=False,
    )
    result = audit(p, g, t, cfg)
    x0, a0 = p.load_images(range(6)), p.attrs
    y = (a0[:, 2] >= 0.5).float()  # Eyeglasses, the target's label
    eps_a = attribute_radii(g, t, {})
    adversaries = []
    for sl in (slice(0, 4), slice(4, 6)):  # the audit's batches
        r = attack(
            x0[sl],
            a0[sl],
            y[sl],
            generator=g,
            target=t,
            task=t.task,
            config=cfg.attack,
            eps_a=eps_a,
        )
        adversaries.append(r.adversary)
    with torch.no_grad():
        want = psnr(torch.cat(adversaries), g(x0, a0)).float()
    torch.testing.assert_close(result.main.probes.psnr_recon, want, atol=0, rtol=0)
