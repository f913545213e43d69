"""Batched Algorithm 1 of the SIA paper: SIA and its ablations in one loop, FGSM/PGD dispatch."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from sia_audit.attacks import pixel
from sia_audit.attacks.config import AttackConfig
from sia_audit.attacks.variants import Variant, get_variant
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
    differs from a_0 by at most eta_a; sensitivity is measured from a_0 (docs/design.md), so a0
    is kept.
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
    # the input's layout. On CPU it paid at 128 px and above only
    # (docs/performance.md).
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
    """Attack one batch of probes with `config.variant` (Algorithm 1 of the SIA paper).

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
    run = _start(x0, a0, label, generator, target, task, config, eps_a, update_mask)
    # No early stopping: sensitivity is defined over all T steps, so a probe keeps moving after
    # the target already gets it wrong.
    for i in range(1, config.steps + 1):
        _step(run, i)
        if on_step is not None:
            on_step(i, run.x.detach(), run.a.detach())
    return _finish(run)


@dataclass
class _Run:
    """One generator attack between its steps: the models, the boxes, the iterates (x, a) and
    what the steps add up. Step 1 fills the `*_start` fields and `first_grad`."""

    variant: Variant
    config: AttackConfig
    generator: Generator
    target: Target
    task: Task
    label: Tensor
    amp: contextlib.AbstractContextManager
    dtype: torch.dtype
    a0: Tensor
    x: Tensor
    a: Tensor
    bounds_x: tuple[Tensor, Tensor]
    bounds_a: tuple[Tensor, Tensor]
    mask: Tensor | None
    rmsprop: torch.optim.Optimizer | None
    path_a: Tensor
    path_x: Tensor
    bad: Tensor
    z: Latent | None = None  # encode(x) cached while x does not move (attr, spt, after PI)
    loss_start: Tensor | None = None
    error_start: Tensor | None = None
    correct_start: Tensor | None = None
    start: Tensor | None = None
    first_grad: Tensor | None = None


def _check_attributes(generator: Generator | None, a0: Tensor | None, x0: Tensor, name: str) -> int:
    """The number of attributes K, once the generator and a0 are fit to attack."""
    if generator is None or a0 is None:
        raise UsageError(f"attack variant {name!r} needs a generator and attributes a0")
    if getattr(generator, "training", False):
        raise UsageError("the generator is in training mode; call .eval() before attacking")
    k = generator.num_attrs
    if a0.shape != (x0.shape[0], k):
        raise DataError(
            f"attributes a0 must be (B, K) = ({x0.shape[0]}, {k}), got {tuple(a0.shape)}"
        )
    if not bool(((a0 >= 0) & (a0 <= 1)).all()):
        raise DataError("attributes a0 must lie in [0, 1]; map -1/1 labels to 0/1 first")
    return k


def _start(
    x0: Tensor,
    a0: Tensor | None,
    label: Tensor,
    generator: Generator | None,
    target: Target,
    task: Task,
    config: AttackConfig,
    eps_a: Tensor | None,
    update_mask: Tensor | None,
) -> _Run:
    """The checked inputs, their boxes and the starting point (x0, a0), or a random one."""
    variant = get_variant(config.variant)
    k = _check_attributes(generator, a0, x0, variant.name)
    assert generator is not None and a0 is not None
    device, dtype = x0.device, x0.dtype
    radius = _radii(eps_a, k, device, dtype)
    mask = _mask(update_mask, k, device, dtype)
    x0 = x0.detach().contiguous(memory_format=memory_format(config, device))
    a0 = a0.detach().to(device=device, dtype=dtype)
    # clip_[0,1](clip_[c - r, c + r](v)) == clamp(v, max(c - r, 0), min(c + r, 1)) for c in
    # [0, 1] and r >= 0, exactly (the bounds are rounded once): one clamp with tensor bounds.
    lo_x, hi_x = (x0 - config.eps_x).clamp_min(0), (x0 + config.eps_x).clamp_max(1)
    lo_a, hi_a = (a0 - radius).clamp_min(0), (a0 + radius).clamp_max(1)
    x, a = x0.clone(), a0.clone()
    if config.random_start:
        x, a = _random_start(x, a, config, (lo_x, hi_x), (lo_a, hi_a))
    rmsprop = None
    if variant.update == "rmsprop":
        # SPT as the paper re-implemented it: raw gradient ascent on a with RMSprop (torch
        # defaults alpha=0.99, eps=1e-8, no momentum) at lr eta_a, then the same projections
        # as SIA. RMSprop is elementwise, so probes stay independent.
        a.requires_grad_(True)
        rmsprop = torch.optim.RMSprop([a], lr=config.eta_a, maximize=True)
    b = x0.shape[0]
    return _Run(
        variant=variant,
        config=config,
        generator=generator,
        target=target,
        task=task,
        label=label,
        amp=autocast_context(config, device),
        dtype=dtype,
        a0=a0,
        x=x,
        a=a,
        bounds_x=(lo_x, hi_x),
        bounds_a=(lo_a, hi_a),
        mask=mask,
        rmsprop=rmsprop,
        # Path attribution: each step's gradient, already taken, times the step it drove.
        path_a=torch.zeros(b, k, device=device, dtype=torch.float32),
        path_x=torch.zeros(b, device=device, dtype=torch.float32),
        bad=torch.zeros(b, dtype=torch.bool, device=device),
    )


def _random_start(
    x: Tensor,
    a: Tensor,
    config: AttackConfig,
    box_x: tuple[Tensor, Tensor],
    box_a: tuple[Tensor, Tensor],
) -> tuple[Tensor, Tensor]:
    """A random start inside the bounds (x in the eps_x ball, a within RANDOM_START_A of a0),
    drawn from the config's seed: another ascent path to another adversary of the same probe
    (`generate` makes several per image this way). The audit never uses it."""
    gen = torch.Generator().manual_seed(config.seed)
    noise_x = (torch.rand(x.shape, generator=gen, dtype=torch.float64) * 2 - 1).to(x)
    noise_a = (torch.rand(a.shape, generator=gen, dtype=torch.float64) * 2 - 1).to(a)
    x = torch.clamp(x + config.eps_x * noise_x, *box_x)
    a = torch.clamp(a + RANDOM_START_A * noise_a, *box_a)
    return x, a


def _step(run: _Run, i: int) -> None:
    """Step i (1-based): the gradient at (x_{i-1}, a_{i-1}), then each moving space's update."""
    config = run.config
    move_x = run.variant.moves_x(i, config.partial_steps)
    move_a = run.variant.moves_a(i, config.partial_steps)
    grad = _gradients(run, i, move_x, move_a)
    with torch.no_grad():
        # Both updates use the gradient taken at (x_{i-1}, a_{i-1}). torch.sign(0) = 0: an
        # attribute (or pixel) with exactly zero gradient does not move.
        if move_a:
            g_a = grad["a"]
            if run.mask is not None:
                g_a = g_a * run.mask
            a_prev = run.a.detach().clone()
            if run.rmsprop is not None:
                run.a.grad = g_a
                run.rmsprop.step()
                run.a.grad = None
                run.a.copy_(torch.clamp(run.a, *run.bounds_a))
            else:
                run.a = torch.clamp(run.a.detach() + config.eta_a * g_a.sign(), *run.bounds_a)
            run.path_a += (grad["a"] * (run.a.detach() - a_prev)).float()
        if move_x:
            x_prev = run.x.detach()
            run.x = torch.clamp(x_prev + config.eta_x * grad["x"].sign(), *run.bounds_x)
            run.path_x += (grad["x"] * (run.x - x_prev)).flatten(1).sum(dim=1).float()


def _gradients(run: _Run, i: int, move_x: bool, move_a: bool) -> dict[str, Tensor]:
    """The loss gradient in each space that moves at step i, at the current (x, a)."""
    generator, task, label = run.generator, run.task, run.label
    with torch.enable_grad(), run.amp:
        if move_x:
            run.x.requires_grad_(True)
            z_i = generator.encode(run.x)
            run.z = None
        else:
            if run.z is None:
                with torch.no_grad():
                    run.z = generator.encode(run.x)
            z_i = run.z
        if run.rmsprop is None:
            run.a.requires_grad_(move_a)
        decoded = generator.decode(z_i, run.a)
        output = run.target(decoded)
        per_probe = task.loss(output, label)
    if i == 1:
        # Step 1 is evaluated at the start (x0, a0): its loss is the reconstruction's.
        first = output.detach()
        task.validate(first, label)
        run.loss_start = per_probe.detach()
        run.error_start, run.correct_start = task.error(first, label), task.correct(first, label)
        run.start = decoded.detach().to(run.dtype)
    run.bad |= ~torch.isfinite(per_probe.detach())
    wrt = {name: t for name, t, moves in (("x", run.x, move_x), ("a", run.a, move_a)) if moves}
    # One backward for the whole batch: the batch loss is a sum, so each probe's gradient
    # is the gradient of its own loss.
    grads = torch.autograd.grad(per_probe.sum(), list(wrt.values()))
    if i == 1:
        squares = [g.float().pow(2).flatten(1).sum(dim=1) for g in grads]
        run.first_grad = torch.sqrt(sum(squares[1:], start=squares[0]))
    # The graph (output, decoded, the latent) is freed on return, before the update.
    return dict(zip(wrt, grads, strict=True))


def _finish(run: _Run) -> AttackBatch:
    """The adversary G(x_T, a_T), the target's answer on it, and the batch's results."""
    generator, task, label = run.generator, run.task, run.label
    x, a = run.x.detach(), run.a.detach()
    with torch.no_grad(), run.amp:
        adversary = generator.decode(run.z if run.z is not None else generator.encode(x), a)
        output = run.target(adversary)
        loss_adv = task.loss(output, label)
    task.validate(output, label)
    run.bad |= ~torch.isfinite(loss_adv)
    _raise_non_finite(run.bad)
    assert run.loss_start is not None and run.error_start is not None
    assert run.correct_start is not None and run.start is not None
    return AttackBatch(
        a0=run.a0,
        a_T=a,
        x_T=x.contiguous(),
        adversary=adversary.to(run.dtype).contiguous(),
        start=run.start.contiguous(),
        loss_start=run.loss_start,
        loss_adv=loss_adv.detach(),
        error_start=run.error_start,
        error_adv=task.error(output, label),
        correct_start=run.correct_start,
        correct_adv=task.correct(output, label),
        path_a=run.path_a,
        path_x=run.path_x,
        first_grad=run.first_grad,
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
