"""Attribute effect (SPEC 6): the loss an adversary loses when one attribute is reset to a0."""

from __future__ import annotations

import torch
from torch import Tensor

from sia_audit.errors import DataError, UsageError
from sia_audit.generators.interface import Generator, map_latent
from sia_audit.targets.contract import Target
from sia_audit.targets.tasks import Task


def per_probe_effects(
    x_T: Tensor,
    a0: Tensor,
    a_T: Tensor,
    label: Tensor,
    *,
    generator: Generator,
    target: Target,
    task: Task,
    max_rows: int = 256,
) -> Tensor:
    """Per probe and attribute k, L(G(x_T, a_T)) - L(G(x_T, a_T with a_k := a0_k)), (B, K).

    x_T is encoded once; the K + 1 attribute variants of every probe are decoded stacked, at
    most `max_rows` images per decode call (memory stays bounded whatever K and B). An attribute
    the attack left at a0 has an effect of exactly 0 (nothing to undo).
    """
    if isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 1:
        raise UsageError(f"max_rows={max_rows!r} is invalid; use an integer >= 1")
    b, k = a_T.shape
    if a0.shape != (b, k) or x_T.shape[0] != b or label.shape[0] != b:
        raise DataError(
            f"attribute effect needs x_T, a0, a_T and labels for the same {b} probes, got "
            f"{tuple(x_T.shape)}, {tuple(a0.shape)}, {tuple(a_T.shape)}, {tuple(label.shape)}"
        )
    a0, a_T = a0.to(a_T), a_T.detach()
    # Variant 0 is the adversary itself; variant j + 1 resets attribute j.
    variants = a_T.unsqueeze(0).repeat(k + 1, 1, 1)
    cols = torch.arange(k, device=a_T.device)
    variants[cols + 1, :, cols] = a0.T
    losses = torch.empty(
        k + 1, b, dtype=torch.promote_types(a_T.dtype, torch.float32), device=a_T.device
    )
    per_call = max(1, max_rows // b)
    with torch.no_grad():
        z = generator.encode(x_T.detach())
        for start in range(0, k + 1, per_call):
            n = min(per_call, k + 1 - start)
            zn = map_latent(z, lambda t, n=n: t.repeat(n, *([1] * (t.dim() - 1))))
            images = generator.decode(zn, variants[start : start + n].reshape(n * b, k))
            labels = label.repeat(n, *([1] * (label.dim() - 1)))
            losses[start : start + n] = task.loss(target(images), labels).view(n, b)
    effect = losses[0].unsqueeze(1) - losses[1:].T
    return torch.where(a_T == a0, torch.zeros_like(effect), effect)
