"""Accuracy, attack success rate and keypoint NME figures on hand-made vectors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from sia_audit.metrics import (
    BootstrapConfig,
    EmptyMetricError,
    accuracy,
    attack_success_rate,
    attack_success_rate_difference,
    excludes_zero,
    failure_rate,
    keypoint_attack_success_rate,
    mean_nme,
    nme,
    resample_indices,
)

CFG = BootstrapConfig(resamples=500, seed=11)
# 10 probes: 8 right on x0; of those, probes 0 and 1 go wrong after the attack. Probe 9 is wrong
# clean and right on its adversary: it must not count either way.
CLEAN = torch.tensor([1, 1, 1, 1, 1, 1, 1, 1, 0, 0], dtype=torch.bool)
ADV = torch.tensor([0, 0, 1, 1, 1, 1, 1, 1, 0, 1], dtype=torch.bool)


def test_accuracy_and_asr_by_hand() -> None:
    assert accuracy(CLEAN, config=CFG).value == pytest.approx(0.8)
    robust = accuracy(ADV, images="adversaries", config=CFG)
    assert robust.value == pytest.approx(0.7) and "adversaries" in robust.definition
    asr = attack_success_rate(CLEAN, ADV, attack="SIA", config=CFG)
    assert asr.value == pytest.approx(0.25) and asr.n == 8
    assert 0.0 <= asr.low <= 0.25 <= asr.high <= 1.0
    assert "SIA" in asr.definition and "resamples without one are left out" in asr.definition


def test_asr_bootstrap_recomputes_the_conditional_fraction_per_resample() -> None:
    gen = torch.Generator().manual_seed(0)
    clean = torch.rand(12, generator=gen) < 0.3  # few right clean: some resamples have none
    adv = torch.rand(12, generator=gen) < 0.5
    asr = attack_success_rate(clean, adv, config=CFG)
    idx = resample_indices(12, CFG)
    loop = []
    for r in range(CFG.resamples):
        c, a = clean[idx[r]], adv[idx[r]]
        if c.any():
            loop.append(float((c & ~a).sum() / c.sum()))
    dropped = CFG.resamples - len(loop)
    assert dropped > 0 and f"leaving out the {dropped} resamples" in asr.definition
    assert asr.low == pytest.approx(np.percentile(loop, 2.5), abs=1e-12)
    assert asr.high == pytest.approx(np.percentile(loop, 97.5), abs=1e-12)


def test_asr_with_nothing_right_clean_is_undefined() -> None:
    with pytest.raises(EmptyMetricError, match="no probe right"):
        attack_success_rate(torch.zeros(5, dtype=torch.bool), torch.ones(5, dtype=torch.bool))
    with pytest.raises(ValueError, match="boolean"):
        accuracy(torch.tensor([0.5, 1.0]))


def test_asr_difference_is_paired() -> None:
    clean = torch.ones(40, dtype=torch.bool)
    base_adv = torch.ones(40, dtype=torch.bool)
    base_adv[:4] = False  # base ASR 0.1
    head_adv = torch.ones(40, dtype=torch.bool)
    head_adv[:24] = False  # head ASR 0.6
    diff = attack_success_rate_difference(clean, base_adv, clean, head_adv, config=CFG)
    assert diff.value == pytest.approx(0.5) and excludes_zero(diff)


def test_nme_by_hand() -> None:
    truth = torch.rand(2, 68, 2, generator=torch.Generator().manual_seed(1)) * 50
    truth[:, 36] = torch.tensor([10.0, 20.0])
    truth[:, 45] = torch.tensor([20.0, 20.0])  # inter-ocular distance 10
    pred = truth + torch.tensor([3.0, 4.0])  # every point off by 5
    assert nme(pred, truth).tolist() == pytest.approx([0.5, 0.5])
    with pytest.raises(ValueError, match="inter-ocular"):
        nme(pred, torch.zeros_like(truth))


def test_keypoint_failure_rate_and_asr() -> None:
    clean = torch.tensor([0.05, 0.08, 0.20, 0.09])
    adv = torch.tensor([0.12, 0.07, 0.30, 0.10])
    assert mean_nme(adv, config=CFG).value == pytest.approx(0.1475)
    assert failure_rate(clean, config=CFG).value == pytest.approx(0.25)
    assert failure_rate(adv, config=CFG).value == pytest.approx(0.5)  # 0.10 is not > 0.10
    asr = keypoint_attack_success_rate(clean, adv, config=CFG)
    # Not failing clean: probes 0, 1, 3; of those only probe 0 fails on its adversary.
    assert asr.value == pytest.approx(1 / 3) and asr.n == 3
    assert keypoint_attack_success_rate(clean, adv, 0.085, config=CFG).value == pytest.approx(0.5)
