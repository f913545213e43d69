"""What one attribute's change does to the target, decoded from a single encoding per probe.

- the attribute effect: the loss an adversary loses when one attribute is reset to a0;
- counterfactual flips: how the target's loss and right/wrong move when one attribute of the
  probe itself is flipped in the generator's input (the flips the editability check draws).

Both encode an image once and decode K + 1 attribute variants of every probe, stacked, at most
`max_rows` images per decode call (memory stays bounded whatever K and B). No gradients.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial

import torch
from torch import Tensor

from sia_audit.errors import DataError, UsageError
from sia_audit.generators.flips import flipped
from sia_audit.generators.interface import Generator, map_latent
from sia_audit.targets.contract import Target
from sia_audit.targets.tasks import Task


def _tiled(t: Tensor, n: int) -> Tensor:
    """`t` repeated `n` times along the batch (first) dimension."""
    return t.repeat(n, *([1] * (t.dim() - 1)))


def _variant_outcomes(
    x: Tensor,
    variants: Tensor,
    label: Tensor,
    *,
    generator: Generator,
    target: Target,
    task: Task,
    max_rows: int,
) -> tuple[Tensor, Tensor]:
    """The target's loss and right/wrong on G(x, variants[v]) for every variant: (V, B) each."""
    if isinstance(max_rows, bool) or not isinstance(max_rows, int) or max_rows < 1:
        raise UsageError(f"max_rows={max_rows!r} is invalid; use an integer >= 1")
    v, b, k = variants.shape
    losses = torch.empty(
        v, b, dtype=torch.promote_types(variants.dtype, torch.float32), device=variants.device
    )
    correct = torch.empty(v, b, dtype=torch.bool, device=variants.device)
    per_call = max(1, max_rows // b)
    with torch.no_grad():
        z = generator.encode(x.detach())
        for start in range(0, v, per_call):
            n = min(per_call, v - start)
            zn = map_latent(z, partial(_tiled, n=n))
            images = generator.decode(zn, variants[start : start + n].reshape(n * b, k))
            labels = _tiled(label, n)
            out = target(images)
            losses[start : start + n] = task.loss(out, labels).view(n, b)
            correct[start : start + n] = task.correct(out, labels).bool().view(n, b)
    return losses, correct


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

    An attribute the attack left at a0 has an effect of exactly 0 (nothing to undo).
    """
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
    losses, _ = _variant_outcomes(
        x_T, variants, label, generator=generator, target=target, task=task, max_rows=max_rows
    )
    effect = losses[0].unsqueeze(1) - losses[1:].T
    return torch.where(a_T == a0, torch.zeros_like(effect), effect)


def per_probe_flips(
    x0: Tensor,
    a0: Tensor,
    label: Tensor,
    *,
    generator: Generator,
    target: Target,
    task: Task,
    names: Sequence[str],
    max_rows: int = 256,
) -> tuple[Tensor, Tensor]:
    """Per probe and attribute k, flipping k in G's input (a_k -> 1 - a_k, its exclusive
    partners off when it turns on): the loss change L(G(x0, a')) - L(G(x0, a0)) and whether the
    target's right/wrong changed, (B, K) each (float, bool)."""
    b, k = a0.shape
    if x0.shape[0] != b or label.shape[0] != b or len(names) != k:
        raise DataError(
            f"counterfactual flips need x0, a0, labels and {k} names for the same {b} probes, "
            f"got {tuple(x0.shape)}, {tuple(label.shape)} and {len(names)} names"
        )
    a0 = a0.detach()
    variants = torch.stack([a0, *(flipped(a0, j, names) for j in range(k))])
    losses, correct = _variant_outcomes(
        x0, variants, label, generator=generator, target=target, task=task, max_rows=max_rows
    )
    return (losses[1:] - losses[0]).T, (correct[1:] != correct[0]).T
