"""The batched Algorithm 1: closed forms, projections, batch invariance and variant behaviour."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor

from sia_audit.attacks import AttackConfig, attack
from sia_audit.attacks.variants import GENERATOR_VARIANTS
from sia_audit.errors import DataError, ModelError, UsageError
from sia_audit.generators.interface import Generator, Latent
from sia_audit.targets.contract import Target, TargetContract
from tests.attacks.conftest import (
    ATTRS,
    LinearGenerator,
    LinearLogit,
    binary_target,
    probes,
    tiny_attgan,
)

# The linear setup lives on a dyadic grid (steps 2^-8 and 2^-6), so every sum is exact in
# float64 and the closed form must match to the last bit.
S, K, T, P = 4, 4, 5, 2
ETA_X, EPS_X, ETA_A = 2.0**-8, 3 * 2.0**-8, 2.0**-6
EPS_A = torch.tensor([1.0, 1.0, 2.0**-5, 0.0], dtype=torch.float64)


def _linear_setup(seed: int = 0) -> tuple[LinearGenerator, Target, Tensor, Tensor, Tensor, Tensor]:
    g = torch.Generator().manual_seed(seed)
    d = 3 * S * S
    w = (torch.rand(d, generator=g, dtype=torch.float64) * 0.01 + 0.01) * torch.randint(
        -1, 2, (d,), generator=g
    ).double()  # some exact zeros: those pixels have no gradient
    weight = torch.randn(K, d, generator=g, dtype=torch.float64) * 0.1
    weight[0] = 0  # attribute 0 has an exactly zero gradient
    b = 6
    x0 = torch.randint(0, 257, (b, 3, S, S), generator=g).double() / 256
    x0[0, 0, 0, :2] = torch.tensor([0.0, 1.0])  # on the box faces
    a0 = torch.randint(0, 65, (b, K), generator=g).double() / 64
    a0[1] = torch.tensor([0.0, 1.0, 1.0, 0.5])
    y = torch.tensor([0, 1, 0, 1, 1, 0], dtype=torch.float64)
    contract = TargetContract("binary", (S, S), label="attr3")
    target = Target(LinearLogit(w.view(1, 3, S, S)), contract)
    return LinearGenerator(weight, S), target, w, x0, a0, y


def _closed_form(
    w: Tensor, gen: LinearGenerator, x0: Tensor, a0: Tensor, y: Tensor, n_x: int, n_a: int
) -> tuple[Tensor, Tensor]:
    # dBCE/dlogit = sigmoid(logit) - y: positive for y = 0, negative for y = 1, never zero.
    direction = (1 - 2 * y).view(-1, 1)
    s_x = direction.view(-1, 1, 1, 1) * w.sign().view(1, 3, S, S)
    s_a = direction * (gen.weight @ w).sign().view(1, K)
    x_t = torch.clamp(x0 + n_x * ETA_X * s_x, (x0 - EPS_X).clamp_min(0), (x0 + EPS_X).clamp_max(1))
    a_t = torch.clamp(a0 + n_a * ETA_A * s_a, (a0 - EPS_A).clamp_min(0), (a0 + EPS_A).clamp_max(1))
    return x_t, a_t


@pytest.mark.parametrize(
    ("variant", "n_x", "n_a"),
    [
        ("full", T, T),
        ("attr", 0, T),
        ("image", T, 0),
        ("attr+partial-image", P, T),
        ("image+partial-attr", T, P),
    ],
)
def test_linear_setup_matches_closed_form_exactly(variant: str, n_x: int, n_a: int) -> None:
    gen, target, w, x0, a0, y = _linear_setup()
    config = AttackConfig(
        variant=variant, steps=T, eta_x=ETA_X, eta_a=ETA_A, eps_x=EPS_X, partial_steps=P
    )
    out = attack(
        x0, a0, y, generator=gen, target=target, task=target.task, config=config, eps_a=EPS_A
    )
    x_t, a_t = _closed_form(w, gen, x0, a0, y, n_x, n_a)
    assert torch.equal(out.x_T, x_t)
    assert torch.equal(out.a_T, a_t)
    assert torch.equal(out.adversary, gen(x_t, a_t))
    # The setup really exercises every clip: the eps balls, the [0, 1] box and sign(0) = 0.
    if n_x == T:
        assert (out.x_T - x0).abs().max() == EPS_X
        assert out.x_T.min() == 0 and out.x_T.max() == 1
    if n_a == T:
        assert torch.equal(out.a_T[:, 0], a0[:, 0])  # zero gradient
        assert torch.equal(out.a_T[:, 3], a0[:, 3])  # frozen
        assert ((out.a_T[:, 2] - a0[:, 2]).abs() == 2.0**-5).sum() >= 4  # its eps ball
        free = a0 + T * ETA_A * (1 - 2 * y).view(-1, 1) * (gen.weight @ w).sign()
        assert ((free > 1) & (out.a_T == 1)).any()  # the box
    logit0 = (gen(x0, a0) * w.view(1, 3, S, S)).flatten(1).sum(1)
    logit_t = (gen(x_t, a_t) * w.view(1, 3, S, S)).flatten(1).sum(1)
    bce = F.binary_cross_entropy_with_logits
    torch.testing.assert_close(out.loss_start, bce(logit0, y, reduction="none"))
    torch.testing.assert_close(out.loss_adv, bce(logit_t, y, reduction="none"))
    assert torch.equal(out.correct_adv, (logit_t > 0).double() == y)


def test_update_mask_moves_only_the_masked_attributes() -> None:
    gen, target, w, x0, a0, y = _linear_setup(seed=1)
    config = AttackConfig(steps=T, eta_x=ETA_X, eta_a=ETA_A, eps_x=EPS_X)
    mask = torch.tensor([False, False, True, False])
    out = attack(
        x0,
        a0,
        y,
        generator=gen,
        target=target,
        task=target.task,
        config=config,
        eps_a=EPS_A,
        update_mask=mask,
    )
    x_t, a_t = _closed_form(w, gen, x0, a0, y, T, T)
    assert torch.equal(out.x_T, x_t)
    assert torch.equal(out.a_T[:, 2], a_t[:, 2])
    assert torch.equal(out.a_T[:, [0, 1, 3]], a0[:, [0, 1, 3]])


def test_spt_is_rmsprop_ascent_on_raw_gradients_then_projection() -> None:
    gen, target, w, x0, a0, y = _linear_setup(seed=2)
    lr, steps, alpha, eps = 0.05, 6, 0.99, 1e-8
    config = AttackConfig(variant="spt", steps=steps, eta_a=lr)
    out = attack(
        x0, a0, y, generator=gen, target=target, task=target.task, config=config, eps_a=EPS_A
    )
    # Literal per-probe reference with the gradient known by hand:
    # logit = <w, x0> + a . (W w), dL/da = (sigmoid(logit) - y) * (W w).
    ww = gen.weight @ w
    lo, hi = (a0 - EPS_A).clamp_min(0), (a0 + EPS_A).clamp_max(1)
    for p in range(x0.shape[0]):
        a, v = a0[p].clone(), torch.zeros(K, dtype=torch.float64)
        for _ in range(steps):
            grad = (torch.sigmoid((x0[p].flatten() * w).sum() + a @ ww) - y[p]) * ww
            v = alpha * v + (1 - alpha) * grad**2
            a = torch.clamp(a + lr * grad / (v.sqrt() + eps), lo[p], hi[p])
        torch.testing.assert_close(out.a_T[p], a, rtol=1e-12, atol=1e-12)
    assert torch.equal(out.x_T, x0)
    # Raw gradients: the first step of RMSprop is lr / sqrt(1 - alpha) = 10 lr, not lr.
    assert (out.a_T - a0).abs().max() > 2 * lr


@pytest.mark.parametrize("seed", range(3))
@pytest.mark.parametrize("variant", GENERATOR_VARIANTS)
def test_every_step_stays_in_the_balls_and_frozen_attributes_never_move(
    variant: str, seed: int, attgan: Generator, target: Target
) -> None:
    g = torch.Generator().manual_seed(seed)
    x0, a0, y = probes(6, seed=seed)
    a0 = torch.rand(a0.shape, generator=g)  # continuous intensities, not only 0/1
    eps_x = float(torch.empty(1).uniform_(0.5, 4, generator=g)) / 255
    eps_a = torch.rand(len(ATTRS), generator=g) * 0.3
    eps_a[int(torch.randint(len(ATTRS), (1,), generator=g))] = 0
    mask = torch.rand(len(ATTRS), generator=g) > 0.3
    # Steps as big as the radii, so the projections are hit at every step.
    config = AttackConfig(
        variant=variant, steps=6, eta_x=eps_x / 2, eta_a=0.1, eps_x=eps_x, partial_steps=3
    )
    frozen = (eps_a == 0) | ~mask
    lo_a, hi_a = (a0 - eps_a).clamp_min(0), (a0 + eps_a).clamp_max(1)
    seen: list[int] = []

    def check(i: int, x: Tensor, a: Tensor | None) -> None:
        assert a is not None
        seen.append(i)
        # The ball's bounds are rounded to float32 once: exact against them, ulps against eps.
        assert (x >= (x0 - eps_x).clamp_min(0)).all() and (x <= (x0 + eps_x).clamp_max(1)).all()
        assert (x - x0).abs().max() <= eps_x + 1e-6
        assert x.min() >= 0 and x.max() <= 1
        assert (a >= lo_a).all() and (a <= hi_a).all()
        assert torch.equal(a[:, frozen], a0[:, frozen])

    out = attack(
        x0,
        a0,
        y,
        generator=attgan,
        target=target,
        task=target.task,
        config=config,
        eps_a=eps_a,
        update_mask=mask,
        on_step=check,
    )
    assert seen == list(range(1, 7))
    assert torch.equal(out.a_T[:, frozen], a0[:, frozen])


def _run(x0: Tensor, a0: Tensor, y: Tensor, variant: str) -> tuple[Tensor, ...]:
    gen, target = tiny_attgan(dtype=torch.float64), binary_target(torch.float64)
    config = AttackConfig(variant=variant, steps=8, eta_x=1 / 255, eta_a=0.02)
    eps_a = torch.tensor([1.0, 1.0, 0.0, 1.0, 0.5], dtype=torch.float64)
    out = attack(
        x0, a0, y, generator=gen, target=target, task=target.task, config=config, eps_a=eps_a
    )
    return out.x_T, out.a_T, out.adversary, out.loss_start, out.loss_adv


@pytest.mark.parametrize("variant", ["full", "spt"])
def test_results_do_not_depend_on_batch_size_or_companions(variant: str) -> None:
    # float64: a sign flip of a gradient that is zero up to rounding would diverge a trajectory;
    # in float64 such near-ties are far rarer than in float32, so equality up to 1e-10 is robust.
    x0, a0, y = probes(32, seed=3, dtype=torch.float64)
    batched = _run(x0, a0, y, variant)
    for p in (0, 7, 31):
        single = _run(x0[p : p + 1], a0[p : p + 1], y[p : p + 1], variant)
        for got, want in zip(single, batched, strict=True):
            torch.testing.assert_close(got[0], want[p], rtol=0, atol=1e-10)
    # The first 8 probes again, with 24 other companions.
    x1, a1, y1 = probes(32, seed=4, dtype=torch.float64)
    x1[:8], a1[:8], y1[:8] = x0[:8], a0[:8], y[:8]
    mixed = _run(x1, a1, y1, variant)
    for got, want in zip(mixed, batched, strict=True):
        torch.testing.assert_close(got[:8], want[:8], rtol=0, atol=1e-10)


class _CountingGenerator(Generator):
    def __init__(self, inner: Generator) -> None:
        self.inner, self.encodes = inner, 0
        self.attr_names, self.image_size = inner.attr_names, inner.image_size

    def encode(self, x: Tensor) -> Latent:
        self.encodes += 1
        return self.inner.encode(x)

    def decode(self, z: Latent, a: Tensor) -> Tensor:
        return self.inner.decode(z, a)


@pytest.mark.parametrize(
    ("variant", "x_moves_until", "a_moves_until", "encodes"),
    [
        ("full", 6, 6, 7),
        ("attr", 0, 6, 1),
        ("spt", 0, 6, 1),
        ("image", 6, 0, 7),
        ("attr+partial-image", 2, 6, 3),
        ("image+partial-attr", 6, 2, 7),
    ],
)
def test_variants_move_only_their_spaces(
    variant: str,
    x_moves_until: int,
    a_moves_until: int,
    encodes: int,
    attgan: Generator,
    target: Target,
) -> None:
    x0, a0, y = probes(4, seed=5)
    a0 = a0.clamp(0.2, 0.8)  # room to move both ways
    gen = _CountingGenerator(attgan)
    config = AttackConfig(variant=variant, steps=6, eta_x=1 / 255, eta_a=0.05, partial_steps=2)
    history: list[tuple[Tensor, Tensor]] = [(x0, a0)]

    def record(i: int, x: Tensor, a: Tensor | None) -> None:
        assert a is not None
        history.append((x.clone(), a.clone()))

    out = attack(
        x0, a0, y, generator=gen, target=target, task=target.task, config=config, on_step=record
    )
    for i in range(1, 7):
        (x_prev, a_prev), (x_i, a_i) = history[i - 1], history[i]
        assert (not torch.equal(x_i, x_prev)) == (i <= x_moves_until), f"x at step {i}"
        assert (not torch.equal(a_i, a_prev)) == (i <= a_moves_until), f"a at step {i}"
    # Latents are reused while the image does not move: one encode per moving step + 1.
    assert gen.encodes == encodes
    assert torch.equal(out.adversary, attgan(out.x_T, out.a_T))
    if variant in ("full", "attr", "image+partial-attr", "attr+partial-image"):
        steps = (out.a_T - a0).abs() / 0.05
        torch.testing.assert_close(steps, steps.round(), rtol=0, atol=1e-5)  # signed steps
    if variant == "spt":
        steps = (out.a_T - a0).abs() / 0.05
        assert not torch.allclose(steps, steps.round(), atol=1e-3)  # raw gradients


def test_clean_loss_is_the_reconstruction_loss(attgan: Generator, target: Target) -> None:
    x0, a0, y = probes(5)
    out = attack(
        x0, a0, y, generator=attgan, target=target, task=target.task, config=AttackConfig(steps=2)
    )
    want = target.task.loss(target(attgan(x0, a0)), y)
    torch.testing.assert_close(out.loss_start, want)
    assert out.loss_adv.shape == (5,) and not out.loss_adv.requires_grad
    assert out.correct_start.dtype == torch.bool


def test_speed_options_keep_the_attack_and_its_boxes(attgan: Generator, target: Target) -> None:
    x0, a0, y = probes(3)
    kw = {"generator": attgan, "target": target, "task": target.task}
    plain = attack(x0, a0, y, config=AttackConfig.preset("paper", steps=3), **kw)
    layout_cfg = AttackConfig.preset("paper", steps=3, channels_last=True)
    layout = attack(x0, a0, y, config=layout_cfg, **kw)
    # channels_last changes only the memory layout: same steps up to float reassociation.
    torch.testing.assert_close(layout.adversary, plain.adversary, atol=1e-5, rtol=0)
    torch.testing.assert_close(layout.loss_adv, plain.loss_adv, atol=1e-5, rtol=1e-5)
    fast_cfg = AttackConfig.preset("paper", steps=3, autocast_bf16=True)
    fast = attack(x0, a0, y, config=fast_cfg, **kw)
    # bf16 runs G and f in lower precision (so it is not a no-op on CPU) but keeps float32
    # results and the same projections.
    assert fast.adversary.dtype == fast.loss_adv.dtype == torch.float32
    assert not torch.equal(fast.adversary, plain.adversary)
    assert (fast.x_T - x0).abs().max() <= AttackConfig().eps_x + 1e-7
    assert (fast.adversary - plain.adversary).abs().mean() < 0.02
    torch.testing.assert_close(fast.loss_start, plain.loss_start, atol=0.05, rtol=0.05)


def test_bad_inputs_are_one_line_errors(attgan: Generator, target: Target) -> None:
    x0, a0, y = probes(2)
    kw = {
        "generator": attgan,
        "target": target,
        "task": target.task,
        "config": AttackConfig(steps=1),
    }
    cases = [
        (DataError, (x0 * 2, a0, y), {}),
        (DataError, (x0, a0[:, :3], y), {}),
        (DataError, (x0, a0, y[:1]), {}),
        (UsageError, (x0, a0, y), {"eps_a": torch.ones(3)}),
        (UsageError, (x0, a0, y), {"eps_a": -torch.ones(len(ATTRS))}),
        (UsageError, (x0, a0, y), {"update_mask": torch.ones(len(ATTRS))}),
    ]
    for error, args, extra in cases:
        with pytest.raises(error) as info:
            attack(*args, **kw, **extra)  # type: ignore[arg-type]
        assert "\n" not in str(info.value)
    with pytest.raises(UsageError, match="needs a generator"):
        attack(x0, a0, y, **{**kw, "generator": None})  # type: ignore[arg-type]


def test_non_finite_loss_is_a_model_error(attgan: Generator) -> None:
    class Exploding(torch.nn.Module):
        def forward(self, x: Tensor) -> Tensor:
            return torch.where(x.flatten(1).mean(1) > -1, math.inf, 0.0) * x.flatten(1).sum(1)

    target = Target(Exploding(), TargetContract("binary", (16, 16)))
    x0, a0, y = probes(2)
    with pytest.raises(ModelError, match="non-finite"):
        attack(
            x0,
            a0,
            y,
            generator=attgan,
            target=target,
            task=target.task,
            config=AttackConfig(steps=1),
        )


@pytest.mark.parametrize("task_name", ["keypoints-heatmap", "keypoints-coords"])
def test_keypoint_targets_are_attacked_with_nme_errors(task_name: str, attgan: Generator) -> None:
    torch.manual_seed(0)
    if task_name == "keypoints-heatmap":
        net = torch.nn.Sequential(torch.nn.Conv2d(3, 68, 3, 2, 1))  # (B, 68, 8, 8) maps
    else:
        net = torch.nn.Sequential(
            torch.nn.Conv2d(3, 4, 3, 2, 1), torch.nn.Flatten(), torch.nn.Linear(256, 136),
            torch.nn.Sigmoid(), torch.nn.Unflatten(1, (68, 2)),
        )  # fmt: skip
    target = Target(net.eval(), TargetContract(task_name, (16, 16), num_keypoints=68))
    x0, a0, _ = probes(3)
    g = torch.Generator().manual_seed(1)
    landmarks = torch.rand(3, 68, 2, generator=g) * 0.6 + 0.2
    landmarks[:, 36, 0], landmarks[:, 45, 0] = 0.3, 0.7
    out = attack(
        x0,
        a0,
        landmarks,
        generator=attgan,
        target=target,
        task=target.task,
        config=AttackConfig(steps=3, eta_a=0.05, eta_x=1 / 255),
    )
    assert out.error_start.shape == out.error_adv.shape == (3,)
    assert (out.error_start > 0).all() and (out.loss_adv >= 0).all()
    assert torch.equal(out.correct_adv, out.error_adv <= 0.10)
