"""A second training loop, unlike the project's `fit`: SGD, one-cycle, smoothing, augmentation.

The held-out suite trains most of its models with this, so that the audit is not only tested
on models from its own recipe (`fit`: Adam 2e-3, cosine, no augmentation). Same signature as
`fit`; `lr` is ignored (the loop has its own schedule).

- SGD with Nesterov momentum 0.9, weight decay 5e-4 on weights (not on biases or norms);
- one-cycle schedule: warm up to 0.05 over the first 20% of the planned steps, cosine down;
- BCE with label smoothing 0.05;
- augmentation per image: horizontal flip, a shift of up to 4 px (border pixels repeated),
  contrast x U(0.9, 1.1) and brightness + U(-0.05, 0.05) in [0, 1] units.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from scripts.training import Batch, Log

PEAK_LR = 0.05
SMOOTHING = 0.05
SHIFT_PX = 4


def augment(x: Tensor, rng: torch.Generator) -> Tensor:
    """Flip, shift, contrast and brightness, per image, on images normalised with mean = std =
    0.5 (so [0, 1] units are doubled)."""
    n, _, h, w = x.shape
    flip = torch.rand(n, generator=rng) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    shift = (torch.rand(n, 2, generator=rng) * 2 - 1) * SHIFT_PX
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1
    theta[:, 0, 2] = shift[:, 0] * 2 / w
    theta[:, 1, 2] = shift[:, 1] * 2 / h
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, padding_mode="border", align_corners=False)
    contrast = 0.9 + 0.2 * torch.rand(n, 1, 1, 1, generator=rng)
    bright = (torch.rand(n, 1, 1, 1, generator=rng) * 2 - 1) * 0.1
    return (x + 1) * contrast - 1 + bright


def fit_sgd_aug(
    model: nn.Module,
    next_batch: Callable[[int], Batch],
    steps: int,
    log: Log,
    *,
    name: str,
    lr: float = 0.0,  # noqa: ARG001 - `fit`'s signature; this loop has its own schedule
    eval_every: int = 250,
    evaluate: Callable[[nn.Module], dict[str, float]] | None = None,
    stop: Callable[[int, dict[str, float]], bool] | None = None,
) -> nn.Module:
    """Train `model` (one logit per image) for `steps` steps; returned in eval mode."""
    decay = [p for p in model.parameters() if p.dim() > 1]
    no_decay = [p for p in model.parameters() if p.dim() <= 1]
    opt = torch.optim.SGD(
        [{"params": decay, "weight_decay": 5e-4}, {"params": no_decay, "weight_decay": 0.0}],
        lr=PEAK_LR,
        momentum=0.9,
        nesterov=True,
    )
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=PEAK_LR, total_steps=steps, pct_start=0.2, anneal_strategy="cos"
    )
    rng = torch.Generator().manual_seed(zlib.crc32(name.encode()))
    model.train()
    t0 = time.time()
    for step in range(1, steps + 1):
        batch = next_batch(step)
        x = augment(batch.x, rng)
        target = batch.y * (1 - SMOOTHING) + 0.5 * SMOOTHING
        loss = F.binary_cross_entropy_with_logits(model(x), target)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        if step % eval_every == 0 or step == steps:
            figures = {} if evaluate is None else evaluate(model)
            model.train()
            text = " ".join(f"{k} {v:.4f}" for k, v in figures.items())
            log(f"{name} step {step}/{steps} loss {loss.item():.4f} {text} "
                f"elapsed {time.time() - t0:.0f}s")  # fmt: skip
            if stop is not None and stop(step, figures):
                break
    return model.eval()
