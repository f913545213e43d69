"""The engine's saved work changes no result: it equals Algorithm 1 re-encoding at every step.

The engine encodes x once and reuses the latent while x does not move (`attr`, `spt`, and
`attr+partial-image` after its partial steps), takes no gradient through the encoder then, and
reuses step 1's forward pass as the clean figures. The reference below does none of that: it
runs G(x, a) = decode(encode(x), a) in full, with gradients on, at every step, and evaluates the
clean and final figures with separate passes.
"""

from __future__ import annotations

import pytest
import torch
from torch import Tensor

from sia_audit.attacks import AttackConfig, attack
from sia_audit.attacks.variants import get_variant
from sia_audit.generators.interface import Generator
from sia_audit.targets.contract import Target
from tests.attacks.conftest import probes

# Deliberately large steps: with 0.25/255 most iterates of a tiny model would stay put.
CONFIG = {"steps": 8, "partial_steps": 3, "eta_x": 2 / 255, "eta_a": 0.05, "eps_x": 6 / 255}
EPS_A = torch.tensor([1.0, 1.0, 0.0, 0.3, 1.0])  # one frozen attribute, one tight radius


def plain_algorithm_1(
    x0: Tensor, a0: Tensor, y: Tensor, gen: Generator, target: Target, config: AttackConfig
) -> dict[str, Tensor]:
    """Algorithm 1 over the batch, encode + decode with gradients every step, no caching."""
    variant, task = get_variant(config.variant), target.task
    lo_x, hi_x = (x0 - config.eps_x).clamp_min(0), (x0 + config.eps_x).clamp_max(1)
    lo_a, hi_a = (a0 - EPS_A).clamp_min(0), (a0 + EPS_A).clamp_max(1)
    x, a = x0.clone(), a0.clone().requires_grad_(True)
    rmsprop = torch.optim.RMSprop([a], lr=config.eta_a, maximize=True)
    for i in range(1, config.steps + 1):
        x = x.detach().requires_grad_(True)
        a = a if variant.update == "rmsprop" else a.detach().requires_grad_(True)
        loss = task.loss(target(gen.decode(gen.encode(x), a)), y).sum()
        g_x, g_a = torch.autograd.grad(loss, [x, a])
        with torch.no_grad():
            if variant.moves_a(i, config.partial_steps):
                if variant.update == "rmsprop":
                    a.grad = g_a
                    rmsprop.step()
                    a.copy_(torch.clamp(a, lo_a, hi_a))
                else:
                    a = torch.clamp(a + config.eta_a * g_a.sign(), lo_a, hi_a)
            if variant.moves_x(i, config.partial_steps):
                x = torch.clamp(x + config.eta_x * g_x.sign(), lo_x, hi_x)
    x, a = x.detach(), a.detach()
    with torch.no_grad():
        adversary = gen(x, a)
        start_out, adv_out = target(gen(x0, a0)), target(adversary)
    return {
        "x_T": x,
        "a_T": a,
        "adversary": adversary,
        "loss_start": task.loss(start_out, y),
        "loss_adv": task.loss(adv_out, y),
        "error_start": task.error(start_out, y),
        "error_adv": task.error(adv_out, y),
    }


@pytest.mark.parametrize("variant", ["attr", "spt", "attr+partial-image", "full", "image"])
def test_engine_equals_plain_algorithm_1(variant: str, attgan: Generator, target: Target) -> None:
    x0, a0, y = probes(6, seed=3)
    config = AttackConfig(variant=variant, **CONFIG)
    got = attack(
        x0, a0, y, generator=attgan, target=target, task=target.task, config=config, eps_a=EPS_A
    )
    want = plain_algorithm_1(x0, a0, y, attgan, target, config)
    # The iterates must match to the bit (a single flipped sign would move a pixel by eta);
    # latents computed with and without autograd may differ by float reassociation, hence 1e-6
    # on images and losses.
    assert torch.equal(got.x_T, want["x_T"]), variant
    torch.testing.assert_close(got.a_T, want["a_T"], atol=1e-6, rtol=0)
    for key in ("adversary", "loss_start", "loss_adv"):
        torch.testing.assert_close(getattr(got, key), want[key], atol=1e-6, rtol=0, msg=key)
    for key in ("error_start", "error_adv"):
        assert torch.equal(getattr(got, key), want[key]), key


def test_the_iterates_really_move(attgan: Generator, target: Target) -> None:
    # Guards the test above against passing vacuously: both spaces move under CONFIG.
    x0, a0, y = probes(6, seed=3)
    config = AttackConfig(variant="attr+partial-image", **CONFIG)
    got = attack(
        x0, a0, y, generator=attgan, target=target, task=target.task, config=config, eps_a=EPS_A
    )
    assert (got.x_T - x0).abs().max() > 1.5 * CONFIG["eta_x"]
    assert (got.a_T - a0).abs().max() > 1.5 * CONFIG["eta_a"]
    assert torch.equal(got.a_T[:, 2], a0[:, 2])  # the frozen attribute


def test_a_cached_latent_is_encoded_once(attgan: Generator, target: Target) -> None:
    # The saving itself: `attr` encodes x0 once (steps + final pass would be steps + 1).
    calls = []
    original = attgan.encode

    class Counting:
        attr_names, image_size, training = attgan.attr_names, attgan.image_size, False

        def encode(self, x: Tensor) -> tuple[Tensor, ...]:
            calls.append(x.requires_grad)
            return original(x)

        def decode(self, z: tuple[Tensor, ...], a: Tensor) -> Tensor:
            return attgan.decode(z, a)

        @property
        def num_attrs(self) -> int:
            return len(self.attr_names)

    x0, a0, y = probes(3)
    config = AttackConfig(variant="attr", **CONFIG)
    attack(x0, a0, y, generator=Counting(), target=target, task=target.task, config=config)  # type: ignore[arg-type]
    assert calls == [False]
