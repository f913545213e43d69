"""The planted-truth suite's figures and scores, on made-up audits whose answer is known."""

from __future__ import annotations

import pytest
import torch

from benchmarks.validity.planted_scoring import (
    FIGURES,
    AuditData,
    Plant,
    auc,
    label_thresholds,
    lower_bounds,
    paired_interval,
    point,
    rank,
    score,
)
from sia_audit.metrics.weighted import weighted_sensitivity

NAMES = ("Eyeglasses", "Mustache", "Pale_Skin", "Young", "Male")
N = 40


def audit(planted: str | None, seed: int) -> AuditData:
    """Every attribute moves alike and carries a little of the loss; `planted` carries most."""
    g = torch.Generator().manual_seed(seed)
    k = len(NAMES)
    path_a = 0.05 + 0.02 * torch.rand(N, k, generator=g, dtype=torch.float64)
    effects = 0.05 + 0.02 * torch.rand(N, k, generator=g, dtype=torch.float64)
    delta = 0.3 + 0.05 * torch.rand(N, k, generator=g, dtype=torch.float64)
    if planted is not None:
        j = NAMES.index(planted)
        path_a[:, j] += 1.0
        effects[:, j] += 1.0
        delta[:, j] += 0.2
    path_a[:, 0] = 0  # the frozen label never moves
    effects[:, 0] = 0
    delta[:, 0] = 0
    delta[:, 4] += 1.0  # Male: moves most but is unmeasurable, so never ranked
    path_x = torch.full((N,), 0.1, dtype=torch.float64)
    loss_start = torch.zeros(N, dtype=torch.float64)
    loss_adv = path_a.sum(dim=1) + path_x
    return AuditData(NAMES, ("Eyeglasses", "Male"), tuple(f"p{i}" for i in range(N)), delta,
                     effects, path_a, path_x, loss_start, loss_adv)  # fmt: skip


def test_shares_add_up_with_the_image_term_to_one() -> None:
    d = audit("Mustache", 0)
    share = point(d, "path_share")
    image = float(d.path_x.mean() / (d.path_a.sum(dim=1) + d.path_x).mean())
    assert float(share.sum()) + image == pytest.approx(1.0)


@pytest.mark.parametrize("figure", sorted(FIGURES))
def test_a_planted_attribute_ranks_first_and_its_interval_excludes_zero(figure: str) -> None:
    biased, control = audit("Mustache", 1), audit(None, 2)
    assert rank(biased, figure, "Mustache") == 1  # Male moves more but is not ranked
    value, low, high = paired_interval(biased, control, figure, "Mustache")
    assert 0 < low <= value <= high


def test_the_interval_of_two_alike_models_covers_zero() -> None:
    value, low, high = paired_interval(audit(None, 3), audit(None, 4), "path_share", "Young")
    assert low < 0 < high and low <= value <= high


def test_models_audited_on_other_probes_are_refused() -> None:
    other = audit(None, 5)
    other = AuditData(**{**other.__dict__, "probe_names": tuple(f"q{i}" for i in range(N))})
    with pytest.raises(ValueError, match="different probes"):
        paired_interval(audit("Mustache", 1), other, "s", "Mustache")


def test_auc_counts_wins_and_half_ties() -> None:
    assert auc([3.0, 2.0], [1.0, 2.0]) == pytest.approx(0.875)
    assert auc([1.0], [2.0]) == 0.0


def test_score_of_a_suite_with_one_hidden_plant() -> None:
    control = audit(None, 10)
    found = Plant("found", "Mustache", audit("Mustache", 11), control)
    hidden = Plant("hidden", "Young", audit(None, 10), control)  # planted, but left no trace
    sc = score([found, hidden], "path_share")
    assert sc["top1"] == 0.5 and sc["excludes_zero"] == 0.5 and sc["separated"] == 0.5
    assert sc["gate_caught"] == 0.5  # found's low end clears every control's; hidden's cannot
    lows = lower_bounds(control, "path_share")
    assert sc["gate_threshold"] == pytest.approx(float(lows[[1, 2, 3]].max()))
    # Positives: Mustache in `found`, Young in `hidden` (equal to the control's Young: a tie);
    # negatives: the control's Mustache and Young.
    share = point(control, "path_share")
    young, mustache = float(share[NAMES.index("Young")]), float(share[NAMES.index("Mustache")])
    assert sc["auc"] == pytest.approx((2 + 0.5 + auc([young], [mustache])) / 4)


def test_a_gate_must_pass_every_control_also_those_without_counted_plants() -> None:
    control = audit(None, 10)
    found = Plant("found", "Mustache", audit("Mustache", 11), control)
    # Another label's control that leans on Pale_Skin as much as a plant does: no plant of its
    # label was counted, but one threshold must still pass it.
    other = audit("Pale_Skin", 12)
    alone, everyone = score([found], "s"), score([found], "s", [other])
    assert everyone["gate_threshold"] == pytest.approx(
        float(lower_bounds(other, "s")[[1, 2, 3]].max())
    )
    assert everyone["gate_threshold"] > alone["gate_threshold"]
    assert alone["gate_caught"] == 1.0 and everyone["gate_caught"] == 0.0


def test_a_threshold_per_label_catches_what_one_shared_threshold_misses() -> None:
    quiet, loud = audit(None, 10), audit("Pale_Skin", 12)  # loud: a label whose truthful
    # model still moves Pale_Skin as much as a plant does
    found = Plant("found", "Mustache", audit("Mustache", 11), quiet, "Eyeglasses")
    sc = score([found], "s", [loud], {"Eyeglasses": [quiet], "No_Beard": [loud]})
    assert sc["gate_caught"] == 0.0  # one threshold for both labels sits above loud's Pale_Skin
    assert sc["label_gate_caught"] == 1.0
    t = label_thresholds([found], "s", {"Eyeglasses": [quiet], "No_Beard": [loud]})
    assert t["Eyeglasses"] == pytest.approx(float(lower_bounds(quiet, "s")[[1, 2, 3]].max()))
    assert t["No_Beard"] == pytest.approx(float(lower_bounds(loud, "s")[[1, 2, 3]].max()))
    assert t["No_Beard"] > t["Eyeglasses"]


def test_the_suites_w_is_the_products_weighted_sensitivity() -> None:
    """The suite's thresholds for w calibrate `gates.weighted_sensitivity`: same value, same
    interval (the product's bootstrap draws the suite's resamples for the same seed)."""
    d = audit("Mustache", 3)
    included = [a not in ("Eyeglasses",) for a in NAMES]
    product = weighted_sensitivity(
        d.delta, d.effects, d.loss_adv - d.loss_start, included, names=NAMES
    )
    suite_point, suite_low = point(d, "w"), lower_bounds(d, "w")
    for a in ("Mustache", "Pale_Skin", "Young"):
        k = NAMES.index(a)
        assert product.of(a).value == pytest.approx(float(suite_point[k]), rel=1e-9)
        assert product.of(a).low == pytest.approx(float(suite_low[k]), rel=1e-6)
