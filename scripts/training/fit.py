"""The optimisation loop every binary classifier here is trained with: Adam, cosine-decayed.

`fit` knows nothing about where batches come from: the demo recipes draw fresh renders each
step (classifier.train_classifier); the paper-scenario benchmarks draw from a fixed, imbalanced
training set with a strategy (reweighting, resampling, augmentation). One loop, so a
difference between two models is the data, not the training code.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from scripts.training.log import Log

LR = 2e-3  # Adam, cosine-decayed to 0 over the planned steps


@dataclass(frozen=True)
class Batch:
    """One training batch: model inputs, targets in [0, 1] (soft targets allowed, e.g. CutMix)
    and optional per-sample loss weights (reweighting)."""

    x: Tensor
    y: Tensor
    weight: Tensor | None = None


def fit(
    model: nn.Module,
    next_batch: Callable[[int], Batch],
    steps: int,
    log: Log,
    *,
    name: str,
    lr: float = LR,
    eval_every: int = 250,
    evaluate: Callable[[nn.Module], dict[str, float]] | None = None,
    stop: Callable[[int, dict[str, float]], bool] | None = None,
) -> nn.Module:
    """Train `model` (one logit per image, BCE) for `steps` steps of `next_batch(step)`.

    `evaluate(model)` is logged every `eval_every` steps and at the end; when `stop(step,
    figures)` says so, training ends there (the learning-rate schedule still spans `steps`).
    Returned in eval mode.
    """
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    t0 = time.time()
    for step in range(1, steps + 1):
        for group in opt.param_groups:
            group["lr"] = lr * 0.5 * (1 + math.cos(math.pi * step / steps))
        batch = next_batch(step)
        logits = model(batch.x)
        if batch.weight is None:
            loss = F.binary_cross_entropy_with_logits(logits, batch.y)
        else:
            per_image = F.binary_cross_entropy_with_logits(logits, batch.y, reduction="none")
            loss = (batch.weight * per_image).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if (step % eval_every == 0 or step == steps) and check(
            model, name, step, steps, loss.item(), t0, log, evaluate, stop
        ):
            break
    return model.eval()


def check(
    model: nn.Module,
    name: str,
    step: int,
    steps: int,
    loss: float,
    t0: float,
    log: Log,
    evaluate: Callable[[nn.Module], dict[str, float]] | None,
    stop: Callable[[int, dict[str, float]], bool] | None,
) -> bool:
    """A held-out check during training: the figures, one log line, and whether `stop` ends
    training here (the model is left in training mode)."""
    figures = {} if evaluate is None else evaluate(model)
    model.train()
    text = " ".join(f"{k} {v:.4f}" for k, v in figures.items())
    log(f"{name} step {step}/{steps} loss {loss:.4f} {text} elapsed {time.time() - t0:.0f}s")
    return stop is not None and stop(step, figures)
