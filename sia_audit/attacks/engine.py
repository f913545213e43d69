"""Batched Algorithm 1 (SPEC section 5): SIA and its ablations in one loop, FGSM/PGD dispatch."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from sia_audit.attacks import pixel
from sia_audit.attacks.config import AttackConfig
from sia_audit.attacks.variants import get_variant
from sia_audit.errors import DataError, ModelError, UsageError
from sia_audit.generators.interface import Generator, Latent
from sia_audit.targets.contract import Target
from sia_audit.targets.tasks import Task

# With a random start, each attribute starts up to this far from a0 (within its radius).
RANDOM_START_A = 0.25

# Called after every step i (1-based) with x_i and a_i (None for pixel attacks); for progress
# reporting and for tests that check the projections at every step. The tensors are valid
# during the call only (SPT updates a in place): clone what you keep, modify nothing.
StepHook = Callable[[int, Tensor, Tensor | None], None]


@dataclass(frozen=True)
class AttackBatch:
    """Per-probe results of one batch, detached, on the caller's device.

    `loss_start`/`error_start`/`correct_start` are measured on what the attack starts from: the
    reconstruction G(x0, a0) for generator variants, x0 itself for pixel attacks ("clean"
    always means x0, the probe as given). `error_*` is
    0/1 misclassification or NME (keypoints); `correct_*` applies the task's failure rule.
    `a0` is the labelled start: the paper's Eq. 2 measures from a_1 (the first iterate), which
    differs from a_0 by at most eta_a; SPEC 6 measures sensitivity from a_0, so a0 is kept.
    `start` is that starting image: G(x0, a0) as step 1 decoded it (so a caller needs no
    reconstruction pass of its own), or x0; with a random start, the random starting point.
    `path_a` (B, K) is the path attribution of each attribute: sum over the steps of
    dL/da_k(x_{i-1}, a_{i-1}) * (a_{i,k} - a_{i-1,k}), the first-order part of the loss increase
    its moves carried; `path_x` (B,) is the image's own term. Their sum is the first-order loss
    change along the path (None for pixel attacks).
    """

    a0: Tensor | None
    a_T: Tensor | None
    x_T: Tensor
    adversary: Tensor
    start: Tensor
    loss_start: Tensor
    loss_adv: Tensor
    error_start: Tensor
    error_adv: Tensor
    correct_start: Tensor
    correct_adv: Tensor
    path_a: Tensor | None = None
    path_x: Tensor | None = None
    # L2 norm of the loss gradient in everything the first step moves (x and/or a): zero or
    # vanishing on many probes means masked gradients, and an attack that cannot work.
    first_grad: Tensor | None = None


def autocast_context(
    config: AttackConfig, device: torch.device
) -> contextlib.AbstractContextManager:
    """bf16 autocast of G and f when asked, on CUDA and on CPU.

    On this project's 2-core CPU (AMX) it halves the SIA step (docs/benchmarks/attack_speed.md);
    the figures then differ slightly from float32, so it is off by default and recorded in the
    attack config that reports are compared on. Losses, updates and projections stay float32.
    """
    if config.autocast_bf16 and device.type in ("cuda", "cpu"):
        return torch.autocast(device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def memory_format(config: AttackConfig, device: torch.device) -> torch.memory_format:
    # Only the inputs are converted: the caller's modules are never mutated; convolutions follow
    # the input's layout. On CPU it pays at 128 px and above only (SPEC 6b).
    return torch.channels_last if config.channels_last else torch.contiguous_format


def _check_images(x0: Tensor) -> None:
    if not isinstance(x0, Tensor) or x0.dim() != 4 or x0.shape[1] != 3 or x0.shape[0] == 0:
        got = tuple(x0.shape) if isinstance(x0, Tensor) else type(x0).__name__
        raise DataError(f"probe images must be a non-empty (B, 3, H, W) tensor, got {got}")
    if not x0.is_floating_point():
        raise DataError(f"probe images must be float in [0, 1], got dtype {x0.dtype}")
    if not bool(((x0 >= 0) & (x0 <= 1)).all()):
        raise DataError("probe images must lie in [0, 1]; convert them before attacking")


def _check_label(label: Tensor, batch: int) -> None:
    if not isinstance(label, Tensor) or label.dim() == 0 or label.shape[0] != batch:
        got = tuple(label.shape) if isinstance(label, Tensor) else type(label).__name__
        raise DataError(f"expected one label per probe ({batch} on dim 0), got {got}")


def _radii(eps_a: Tensor | None, k: int, device: torch.device, dtype: torch.dtype) -> Tensor:
    if eps_a is None:
        return torch.ones(k, device=device, dtype=dtype)
    eps_a = torch.as_tensor(eps_a)
    if eps_a.shape != (k,):
        raise UsageError(
            f"eps_a must hold one radius per attribute ({k},), got {tuple(eps_a.shape)}"
        )
    if bool(torch.isnan(eps_a).any()) or bool((eps_a < 0).any()):
        raise UsageError("eps_a radii must be >= 0 (0 freezes an attribute, 1 is the [0, 1] box)")
    return eps_a.to(device=device, dtype=dtype)


def _mask(
    update_mask: Tensor | None, k: int, device: torch.device, dtype: torch.dtype
) -> Tensor | None:
    if update_mask is None:
        return None
    update_mask = torch.as_tensor(update_mask)
    if update_mask.shape != (k,) or update_mask.dtype != torch.bool:
        raise UsageError(
            f"update_mask must be a bool tensor ({k},), got {update_mask.dtype} "
            f"{tuple(update_mask.shape)}"
        )
    return update_mask.to(device=device, dtype=dtype)


def _raise_non_finite(bad: Tensor) -> None:
    if bool(bad.any()):
        raise ModelError(
            f"the target's loss became non-finite (NaN or inf) for {int(bad.sum())} probe(s) "
            "during the attack; check the target and generator for overflow"
        )


def attack(
    x0: Tensor,
    a0: Tensor | None,
    label: Tensor,
    *,
    generator: Generator | None,
    target: Target,
    task: Task,
    config: AttackConfig,
    eps_a: Tensor | None = None,
    update_mask: Tensor | None = None,
    on_step: StepHook | None = None,
    clean_output: Tensor | None = None,
) -> AttackBatch:
    """Attack one batch of probes with `config.variant`; see SPEC section 5.

    x0 (B, 3, S, S) in [0, 1], a0 (B, K) in [0, 1], label as the task wants it. `eps_a` (K,) is
    the per-attribute radius around a0 (default 1: only the [0, 1] box; 0 freezes); attributes
    where `update_mask` (K,) is False never move (single-attribute mode). Pixel variants (fgsm,
    pgd) need neither generator nor attributes. Probes never interact: the result of a probe
    does not depend on the batch it is in (G and f must be in eval mode). Pixel variants take
    the target's output on x0 as `clean_output` when the caller already has it (computed under
    the same autocast setting), instead of computing it again.
    """
    variant = get_variant(config.variant)
    _check_images(x0)
    _check_label(label, x0.shape[0])
    label = label.to(x0.device)
    if not variant.uses_generator:
        return _pixel_attack(
            x0,
            label,
            target=target,
            task=task,
            config=config,
            on_step=on_step,
            out_clean=clean_output,
        )
    if clean_output is not None:
        raise UsageError("clean_output is for pixel attacks; SIA starts from G(x0, a0)")
    if generator is None or a0 is None:
        raise UsageError(f"attack variant {variant.name!r} needs a generator and attributes a0")
    if getattr(generator, "training", False):
        raise UsageError("the generator is in training mode; call .eval() before attacking")
    k = generator.num_attrs
    if a0.shape != (x0.shape[0], k):
        raise DataError(
            f"attributes a0 must be (B, K) = ({x0.shape[0]}, {k}), got {tuple(a0.shape)}"
        )
    if not bool(((a0 >= 0) & (a0 <= 1)).all()):
        raise DataError("attributes a0 must lie in [0, 1]; map -1/1 labels to 0/1 first")
    device, dtype = x0.device, x0.dtype
    radius = _radii(eps_a, k, device, dtype)
    mask = _mask(update_mask, k, device, dtype)
    amp = autocast_context(config, device)
    fmt = memory_format(config, device)

    x0 = x0.detach().contiguous(memory_format=fmt)
    a0 = a0.detach().to(device=device, dtype=dtype)
    # clip_[0,1](clip_[c - r, c + r](v)) == clamp(v, max(c - r, 0), min(c + r, 1)) for c in
    # [0, 1] and r >= 0, exactly (the bounds are rounded once): one clamp with tensor bounds.
    lo_x, hi_x = (x0 - config.eps_x).clamp_min(0), (x0 + config.eps_x).clamp_max(1)
    lo_a, hi_a = (a0 - radius).clamp_min(0), (a0 + radius).clamp_max(1)

    x, a = x0.clone(), a0.clone()
    if config.random_start:
        # A random start inside the bounds (x in the eps_x ball, a within RANDOM_START_A of a0),
        # drawn from the config's seed: another ascent path to another adversary of the same
        # probe (`generate` makes several per image this way). The audit never uses it.
        gen = torch.Generator().manual_seed(config.seed)
        noise_x = (torch.rand(x.shape, generator=gen, dtype=torch.float64) * 2 - 1).to(x)
        noise_a = (torch.rand(a.shape, generator=gen, dtype=torch.float64) * 2 - 1).to(a)
        x = torch.clamp(x + config.eps_x * noise_x, lo_x, hi_x)
        a = torch.clamp(a + RANDOM_START_A * noise_a, lo_a, hi_a)
    rmsprop = None
    if variant.update == "rmsprop":
        # SPT as the paper re-implemented it: raw gradient ascent on a with RMSprop (torch
        # defaults alpha=0.99, eps=1e-8, no momentum) at lr eta_a, then the same projections
        # as SIA. RMSprop is elementwise, so probes stay independent.
        a.requires_grad_(True)
        rmsprop = torch.optim.RMSprop([a], lr=config.eta_a, maximize=True)

    z: Latent | None = None  # encode(x) cached while x does not move (attr, spt, after PI)
    loss_start = error_start = correct_start = start = first_grad = None
    # Path attribution (SPEC 6c): each step's gradient, already taken, times the step it drove.
    path_a = torch.zeros(x0.shape[0], k, device=device, dtype=torch.float32)
    path_x = torch.zeros(x0.shape[0], device=device, dtype=torch.float32)
    bad = torch.zeros(x0.shape[0], dtype=torch.bool, device=device)
    # No early stopping: sensitivity is defined over all T steps, so a probe keeps moving after
    # the target already gets it wrong.
    for i in range(1, config.steps + 1):
        move_x = variant.moves_x(i, config.partial_steps)
        move_a = variant.moves_a(i, config.partial_steps)
        with torch.enable_grad(), amp:
            if move_x:
                x.requires_grad_(True)
                z_i = generator.encode(x)
                z = None
            else:
                if z is None:
                    with torch.no_grad():
                        z = generator.encode(x)
                z_i = z
            if rmsprop is None:
                a.requires_grad_(move_a)
            decoded = generator.decode(z_i, a)
            output = target(decoded)
            per_probe = task.loss(output, label)
        if i == 1:
            # Step 1 is evaluated at the start (x0, a0): its loss is the reconstruction's.
            first = output.detach()
            task.validate(first, label)
            loss_start = per_probe.detach()
            error_start, correct_start = task.error(first, label), task.correct(first, label)
            start = decoded.detach().to(dtype)
            del first
        bad |= ~torch.isfinite(per_probe.detach())
        wrt = {name: t for name, t, moves in (("x", x, move_x), ("a", a, move_a)) if moves}
        # One backward for the whole batch: the batch loss is a sum, so each probe's gradient
        # is the gradient of its own loss.
        grads = torch.autograd.grad(per_probe.sum(), list(wrt.values()))
        grad = dict(zip(wrt, grads, strict=True))
        if i == 1:
            first_grad = torch.sqrt(sum(g.float().pow(2).flatten(1).sum(dim=1) for g in grads))
        del output, per_probe, z_i, grads, decoded
        with torch.no_grad():
            # Both updates use the gradient taken at (x_{i-1}, a_{i-1}). torch.sign(0) = 0: an
            # attribute (or pixel) with exactly zero gradient does not move.
            if move_a:
                g_a = grad["a"]
                if mask is not None:
                    g_a = g_a * mask
                a_prev = a.detach().clone()
                if rmsprop is not None:
                    a.grad = g_a
                    rmsprop.step()
                    a.grad = None
                    a.copy_(torch.clamp(a, lo_a, hi_a))
                else:
                    a = torch.clamp(a.detach() + config.eta_a * g_a.sign(), lo_a, hi_a)
                path_a += (grad["a"] * (a.detach() - a_prev)).float()
            if move_x:
                x_prev = x.detach()
                x = torch.clamp(x_prev + config.eta_x * grad["x"].sign(), lo_x, hi_x)
                path_x += (grad["x"] * (x - x_prev)).flatten(1).sum(dim=1).float()
        if on_step is not None:
            on_step(i, x.detach(), a.detach())

    x, a = x.detach(), a.detach()
    with torch.no_grad(), amp:
        adversary = generator.decode(z if z is not None else generator.encode(x), a)
        output = target(adversary)
        loss_adv = task.loss(output, label)
    task.validate(output, label)
    bad |= ~torch.isfinite(loss_adv)
    _raise_non_finite(bad)
    assert loss_start is not None and error_start is not None and correct_start is not None
    assert start is not None
    return AttackBatch(
        a0=a0,
        a_T=a,
        x_T=x.contiguous(),
        adversary=adversary.to(dtype).contiguous(),
        start=start.contiguous(),
        loss_start=loss_start,
        loss_adv=loss_adv.detach(),
        error_start=error_start,
        error_adv=task.error(output, label),
        correct_start=correct_start,
        correct_adv=task.correct(output, label),
        path_a=path_a,
        path_x=path_x,
        first_grad=first_grad,
    )


def _pixel_attack(
    x0: Tensor,
    label: Tensor,
    *,
    target: Target,
    task: Task,
    config: AttackConfig,
    on_step: StepHook | None,
    out_clean: Tensor | None,
) -> AttackBatch:
    amp = autocast_context(config, x0.device)
    x0 = x0.detach().contiguous(memory_format=memory_format(config, x0.device))
    with torch.no_grad(), amp:
        if out_clean is None:
            out_clean = target(x0)
        loss_start = task.loss(out_clean, label)
    task.validate(out_clean, label)
    hook = None if on_step is None else (lambda i, x: on_step(i, x, None))
    # Autocast only changes the dtype of convolutions and matmuls: the updates stay in x0's dtype.
    with amp:
        if get_variant(config.variant).one_step:
            adversary = pixel.fgsm(x0, label, target=target, task=task, eps_x=config.eps_x)
            if hook is not None:
                hook(1, adversary)
        else:
            adversary = pixel.pgd(
                x0,
                label,
                target=target,
                task=task,
                eps_x=config.eps_x,
                eta_x=config.eta_x,
                steps=config.steps,
                random_start=config.random_start,
                seed=config.seed,
                on_step=hook,
            )
    with torch.no_grad(), amp:
        out_adv = target(adversary)
        loss_adv = task.loss(out_adv, label)
    task.validate(out_adv, label)
    _raise_non_finite(~torch.isfinite(loss_adv) | ~torch.isfinite(loss_start))
    adversary = adversary.contiguous()
    return AttackBatch(
        a0=None,
        a_T=None,
        x_T=adversary,
        adversary=adversary,
        start=x0,
        loss_start=loss_start,
        loss_adv=loss_adv,
        error_start=task.error(out_clean, label),
        error_adv=task.error(out_adv, label),
        correct_start=task.correct(out_clean, label),
        correct_adv=task.correct(out_adv, label),
    )
