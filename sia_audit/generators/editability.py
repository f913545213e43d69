"""Measure a generator's editability on a probe set: flip each attribute, ask a classifier.

Per batch the probes are encoded once; the reconstruction and the K single-attribute flips are
decoded from the same features and judged by the attribute classifier. Where the probe set can
draw the true edit (synthfaces), the flips are also scored against it. Cost: K + 1 decodes and
classifier passes per probe, no gradients (a few seconds for 64 probes on a CPU).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import Tensor

from sia_audit import defaults
from sia_audit.generators.classifiers import AttributeClassifier
from sia_audit.generators.flips import flipped, intended
from sia_audit.generators.interface import Generator
from sia_audit.metrics.bootstrap import DEFAULT, BootstrapConfig, mean_estimate
from sia_audit.metrics.editability import (
    Editability,
    TruthCheck,
    crossed,
    editability,
)
from sia_audit.metrics.image_quality import edit_region
from sia_audit.probes.interface import ProbeSet, TruthOracle


def _psnr(sse: float, count: float) -> float:
    return 10 * math.log10(count / sse) if sse > 0 else 100.0


class _TruthTally:
    """Squared errors of G's flips and of copying x0 against the true edits, per attribute."""

    def __init__(self, k: int) -> None:
        self.flip_sse = [0.0] * k
        self.copy_sse = [0.0] * k
        self.region_sse = [0.0] * k
        self.region_px = [0.0] * k
        self.values = 0.0  # pixel values (N * 3 * H * W) per attribute
        self.p_x0: list[Tensor] = []
        self.p_truth: list[Tensor] = []  # (B, K): classifier on the true edit of attribute k

    def add(self, j: int, x0: Tensor, out: Tensor, truth: Tensor) -> None:
        region = edit_region(x0, truth)
        err = (out - truth).pow(2)
        self.flip_sse[j] += float(err.sum())
        self.copy_sse[j] += float((x0 - truth).pow(2).sum())
        self.region_sse[j] += float((err * region).sum())
        self.region_px[j] += float(region.sum()) * 3

    def checks(self, a0: Tensor, config: BootstrapConfig) -> list[TruthCheck]:
        p_x0, p_truth = torch.cat(self.p_x0), torch.cat(self.p_truth)
        on = a0 >= 0.5
        n = a0.shape[0]
        out = []
        for j in range(a0.shape[1]):
            hit = crossed(p_x0[:, j], p_truth[:, j], on[:, j])
            out.append(
                TruthCheck(
                    flip_psnr=_psnr(self.flip_sse[j], self.values),
                    copy_psnr=_psnr(self.copy_sse[j], self.values),
                    region_psnr=_psnr(self.region_sse[j], self.region_px[j]),
                    region_pixels=self.region_px[j] / 3 / n,
                    classifier_on_truth=mean_estimate(
                        hit.double(),
                        "Expression rate of the renderer's true edits: the same rule applied to "
                        "x0 and the true flip, a check of the classifier itself",
                        config,
                    ),
                )
            )
        return out


@torch.no_grad()
def measure_editability(
    probes: ProbeSet,
    generator: Generator,
    classifier: AttributeClassifier,
    *,
    batch_size: int = defaults.BATCH_SIZE,
    device: torch.device | str = "cpu",
    min_expression: float = defaults.MIN_EXPRESSION,
    config: BootstrapConfig = DEFAULT,
    progress: Callable[[int], None] | None = None,
    see: Callable[[list[int], int, Tensor], None] | None = None,
) -> Editability:
    """Expression rate and leakage of every attribute on `probes` (and the truth check).

    `see(idx, j, images)`, when given, is shown every decode: the reconstruction (j = -1) and
    the flip of attribute j, of the probes `idx` (the audit's counterfactual flips read them).
    """
    device = torch.device(device)
    generator = generator.to(device).eval()
    classifier = classifier.to(device).eval()
    k = generator.num_attrs
    oracle = probes if isinstance(probes, TruthOracle) else None
    tally = _TruthTally(k) if oracle is not None else None
    p_rec, p_flip = [], []
    for start in range(0, len(probes), batch_size):
        idx = list(range(start, min(start + batch_size, len(probes))))
        x0 = probes.load_images(idx).to(device)
        a0 = probes.attrs[idx].to(device)
        z = generator.encode(x0)
        rec = generator.decode(z, a0)
        p_rec.append(classifier(rec).cpu())
        if see is not None:
            see(idx, -1, rec)
        flips = []
        truths = []
        for j in range(k):
            a = flipped(a0, j, generator.attr_names)
            out = generator.decode(z, a)
            if see is not None:
                see(idx, j, out)
            flips.append(classifier(out).cpu())
            if oracle is not None and tally is not None:
                truth = oracle.render_edits(idx, a.cpu()).to(device)
                tally.add(j, x0, out, truth)
                truths.append(classifier(truth)[:, j].cpu())
        p_flip.append(torch.stack(flips, dim=1))
        if tally is not None:
            tally.p_x0.append(classifier(x0).cpu())
            tally.p_truth.append(torch.stack(truths, dim=1))
            tally.values += x0.numel()
        if progress is not None:
            progress(len(idx))
    a0_all = probes.attrs.cpu()
    return editability(
        a0_all,
        torch.cat(p_rec),
        torch.cat(p_flip),
        names=generator.attr_names,
        classifier=classifier.description,
        min_expression=min_expression,
        intended=intended(generator.attr_names),
        truth=None if tally is None else tally.checks(a0_all, config),
        config=config,
    )
