"""Accuracy, attack success rate (ASR) and keypoint NME figures with intervals."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from sia_audit.metrics.bootstrap import (
    DEFAULT,
    BootstrapConfig,
    bootstrap,
    mean_estimate,
    paired_bootstrap,
)
from sia_audit.metrics.estimate import EmptyMetricError, Estimate

FAILURE_THRESHOLD = 0.10  # a keypoint prediction fails when its NME exceeds this
LEFT_EYE_OUTER, RIGHT_EYE_OUTER = 36, 45  # 0-based iBUG-68 outer eye corners

ASR_UNDEFINED = (
    "ASR over a resample is defined only if it holds a probe correct on x0: resamples without "
    "one are left out, not counted as 0"
)


def _as_bool(x: Tensor, name: str) -> Tensor:
    t = torch.as_tensor(x).detach().cpu()
    if t.dim() != 1:
        raise ValueError(f"{name} must be per-probe (N,), got {tuple(t.shape)}")
    if t.dtype != torch.bool:
        if not ((t == 0) | (t == 1)).all():
            raise ValueError(f"{name} must be boolean (or 0/1)")
        t = t.to(torch.bool)
    return t


def _per_probe(x: Tensor, name: str) -> Tensor:
    # Kept in its own precision: thresholds compare as the caller's float32 NME would.
    t = torch.as_tensor(x).detach().cpu()
    if t.dim() != 1:
        raise ValueError(f"{name} must be per-probe (N,), got {tuple(t.shape)}")
    if not torch.isfinite(t).all():
        raise ValueError(f"{name} holds non-finite values")
    return t


def accuracy(
    correct: Tensor, *, images: str = "clean images x0", config: BootstrapConfig = DEFAULT
) -> Estimate:
    """Fraction of probes the target gets right, e.g. images="adversaries" for robust accuracy."""
    c = _as_bool(correct, "correct")
    meaning = f"Accuracy on the {images}: fraction of the {c.numel()} probes the target gets right"
    return mean_estimate(c.double(), meaning, config)


def _conditional_rate(means: Tensor) -> Tensor:
    # means[:, 0] = P(ok clean and not ok adversary), means[:, 1] = P(ok clean); NaN = undefined.
    den = means[:, 1]
    return torch.where(den > 0, means[:, 0] / torch.where(den > 0, den, 1.0), torch.nan)


def _success_pairs(ok_clean: Tensor, ok_adv: Tensor) -> Tensor:
    if ok_clean.shape != ok_adv.shape:
        raise ValueError("clean and adversary outcomes must have one entry per probe each")
    return torch.stack([(ok_clean & ~ok_adv).double(), ok_clean.double()], dim=1)


def _rate(ok_clean: Tensor, ok_adv: Tensor, meaning: str, config: BootstrapConfig) -> Estimate:
    m = int(ok_clean.sum())
    if ok_clean.numel() == 0:
        raise EmptyMetricError("no probes: ASR needs at least one probe")
    if m == 0:
        raise EmptyMetricError(
            "ASR is undefined: the target gets no probe right on the clean images, "
            "so there is nothing to attack (check clean accuracy first)"
        )
    rep = bootstrap(_success_pairs(ok_clean, ok_adv), _conditional_rate, config)
    return rep.estimate(f"{meaning} ({m} of {ok_clean.numel()} probes); {ASR_UNDEFINED}", n=m)


def attack_success_rate(
    correct_clean: Tensor,
    correct_adv: Tensor,
    *,
    attack: str = "the attack",
    config: BootstrapConfig = DEFAULT,
) -> Estimate:
    """Among probes correct on x0, the fraction whose adversary the target gets wrong.

    The bootstrap resamples all probes and recomputes the conditional fraction per resample.
    `n` of the result is the number of probes correct on x0. Raises EmptyMetricError when none
    is.
    """
    ok0 = _as_bool(correct_clean, "correct_clean")
    ok1 = _as_bool(correct_adv, "correct_adv")
    meaning = (
        f"Attack success rate of {attack}: among the probes the target gets right on x0, "
        "the fraction whose adversary it gets wrong"
    )
    return _rate(ok0, ok1, meaning, config)


def attack_success_rate_difference(
    base_clean: Tensor,
    base_adv: Tensor,
    head_clean: Tensor,
    head_adv: Tensor,
    *,
    config: BootstrapConfig = DEFAULT,
    base_ids: Sequence[str] | None = None,
    head_ids: Sequence[str] | None = None,
) -> Estimate:
    """ASR(head) - ASR(base) on the same probes, resampled jointly (for regression gates)."""
    base = _success_pairs(_as_bool(base_clean, "base_clean"), _as_bool(base_adv, "base_adv"))
    head = _success_pairs(_as_bool(head_clean, "head_clean"), _as_bool(head_adv, "head_adv"))
    if base[:, 1].sum() == 0 or head[:, 1].sum() == 0:
        raise EmptyMetricError("ASR is undefined for a run with no probe right on x0")
    rep = paired_bootstrap(
        base, head, _conditional_rate, config, base_ids=base_ids, head_ids=head_ids
    )
    return rep.estimate(
        "Change head - baseline, paired by probe, of the attack success rate (among probes "
        f"right on x0, the fraction whose adversary is wrong); {ASR_UNDEFINED}"
    )


def nme(
    pred: Tensor,
    truth: Tensor,
    *,
    left_eye: int = LEFT_EYE_OUTER,
    right_eye: int = RIGHT_EYE_OUTER,
) -> Tensor:
    """Per-probe NME (N,): mean point error / inter-ocular distance (outer eye corners of truth).

    pred and truth are (N, P, 2) in the same units (pixels or [0, 1] coordinates).
    """
    if pred.shape != truth.shape or pred.dim() != 3 or pred.shape[-1] != 2:
        raise ValueError(f"pred and truth must both be (N, P, 2), got {pred.shape}, {truth.shape}")
    if max(left_eye, right_eye) >= truth.shape[1]:
        raise ValueError(f"eye indices {left_eye}, {right_eye} beyond {truth.shape[1]} points")
    p = pred.detach().to("cpu", torch.float64)
    t = truth.detach().to("cpu", torch.float64)
    iod = (t[:, left_eye] - t[:, right_eye]).norm(dim=-1)
    if not (iod > 0).all():
        raise ValueError("inter-ocular distance is zero for some probe: check the landmarks")
    return (p - t).norm(dim=-1).mean(dim=-1) / iod


def mean_nme(
    nme_values: Tensor, *, images: str = "adversaries", config: BootstrapConfig = DEFAULT
) -> Estimate:
    """Mean NME over probes (N,)."""
    v = _per_probe(nme_values, "nme_values")
    meaning = (
        f"Mean NME on the {images}: mean point error over inter-ocular distance (outer eye "
        f"corners), averaged over the {v.numel()} probes"
    )
    return mean_estimate(v, meaning, config)


def failure_rate(
    nme_values: Tensor,
    threshold: float = FAILURE_THRESHOLD,
    *,
    images: str = "adversaries",
    config: BootstrapConfig = DEFAULT,
) -> Estimate:
    """Fraction of probes whose NME exceeds the threshold."""
    v = _per_probe(nme_values, "nme_values")
    meaning = (
        f"Failure rate on the {images}: fraction of the {v.numel()} probes with NME > {threshold:g}"
    )
    # Compared in the values' own precision: a float32 NME of 0.1 does not fail at 0.1.
    return mean_estimate((v > threshold).double(), meaning, config)


def keypoint_attack_success_rate(
    nme_clean: Tensor,
    nme_adv: Tensor,
    threshold: float = FAILURE_THRESHOLD,
    *,
    attack: str = "the attack",
    config: BootstrapConfig = DEFAULT,
) -> Estimate:
    """Among probes not failing clean (NME <= threshold), the fraction whose adversary fails."""
    ok0 = _per_probe(nme_clean, "nme_clean") <= threshold
    ok1 = _per_probe(nme_adv, "nme_adv") <= threshold
    meaning = (
        f"Attack success rate of {attack} on keypoints: among the probes not failing on x0 "
        f"(NME <= {threshold:g}), the fraction whose adversary fails (NME > {threshold:g})"
    )
    return _rate(ok0, ok1, meaning, config)
