"""Pixel-space baselines on the target alone: FGSM and PGD (L_inf), as torchattacks runs them."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from sia_audit.targets.contract import Target
from sia_audit.targets.tasks import Task


def _input_gradient(x: Tensor, label: Tensor, target: Target, task: Task) -> Tensor:
    x = x.detach().requires_grad_(True)
    with torch.enable_grad():
        # A sum over the batch (torchattacks takes the mean): the same signs, and each probe's
        # gradient stays its own, whatever the batch size.
        loss = task.loss(target(x), label).sum()
        return torch.autograd.grad(loss, x)[0]


def fgsm(x0: Tensor, label: Tensor, *, target: Target, task: Task, eps_x: float) -> Tensor:
    """One signed step of eps_x, then the [0, 1] box (Goodfellow et al. 2015)."""
    x0 = x0.detach()
    grad = _input_gradient(x0, label, target, task)
    return torch.clamp(x0 + eps_x * grad.sign(), min=0, max=1)


def pgd(
    x0: Tensor,
    label: Tensor,
    *,
    target: Target,
    task: Task,
    eps_x: float,
    eta_x: float,
    steps: int,
    random_start: bool = False,
    seed: int = 0,
    on_step: Callable[[int, Tensor], None] | None = None,
) -> Tensor:
    """`steps` signed steps of eta_x, each projected onto the eps_x ball and the [0, 1] box.

    The order of operations is torchattacks' PGD (clamp the delta to the ball, then the image
    to the box), so the adversaries match it exactly. A random start draws a uniform delta in
    the ball from a generator seeded with `seed` (it depends on the batch's composition).
    """
    x0 = x0.detach()
    x = x0.clone()
    if random_start:
        rng = torch.Generator(device=x0.device).manual_seed(seed)
        noise = torch.empty_like(x0).uniform_(-eps_x, eps_x, generator=rng)
        x = torch.clamp(x0 + noise, min=0, max=1)
    delta = torch.empty_like(x0)
    for i in range(1, steps + 1):
        grad = _input_gradient(x, label, target, task)
        with torch.no_grad():
            # In place, to save allocations: eta_x * sign is exact (sign is -1, 0 or 1), so
            # add_(alpha=eta_x) gives the same bits as torchattacks' x + alpha * sign.
            x.add_(grad.sign_(), alpha=eta_x)
            torch.sub(x, x0, out=delta).clamp_(min=-eps_x, max=eps_x)
            torch.add(x0, delta, out=x).clamp_(min=0, max=1)
        if on_step is not None:
            on_step(i, x.clone())
    return x
