"""Flip rate, flip loss and moved share: their values, exclusions, and the paired change head -
baseline."""

from __future__ import annotations

import pytest
import torch

from sia_audit import defaults
from sia_audit.metrics import BootstrapConfig
from sia_audit.metrics.counterfactual import counterfactual_flips, flips_difference

CONFIG = BootstrapConfig(resamples=200, seed=0)
NAMES = ("a", "b", "c")


def _data() -> tuple[torch.Tensor, torch.Tensor]:
    loss = torch.tensor([[0.5, -0.1, 0.0], [-0.5, 0.1, 0.2], [1.0, 0.0, 0.0], [0.0, 0.3, 0.0]])
    changed = torch.tensor([[1, 0, 0], [1, 0, 0], [0, 0, 1], [0, 0, 0]], dtype=torch.bool)
    return loss, changed


def test_flip_rate_and_loss_are_the_means_of_changes_and_absolute_losses() -> None:
    loss, changed = _data()
    flips = counterfactual_flips(loss, changed, [True, False, True], names=NAMES, config=CONFIG)
    assert flips.attributes == ("a", "c") and flips.excluded == ("b",) and flips.n == 4
    assert flips.of("a").value == pytest.approx(0.5)
    assert flips.rate[1].value == pytest.approx(0.25)
    assert flips.loss[0].value == pytest.approx(0.5)  # |0.5| + |-0.5| + |1.0| + 0, over 4
    assert flips.loss[1].value == pytest.approx(0.05)
    assert flips.rate[0].low <= 0.5 <= flips.rate[0].high
    assert "Flip rate of a" in flips.rate[0].definition
    written = flips.as_dict()
    assert set(written) == {"n", "attributes", "excluded", "rate", "loss", "moved", "label_leak"}
    assert written["rate"]["c"]["value"] == pytest.approx(0.25)
    assert written["label_leak"] == {}


def test_the_moved_share_counts_a_probe_in_full_from_the_move_on() -> None:
    loss, changed = _data()
    flips = counterfactual_flips(loss, changed, names=NAMES, config=CONFIG)
    assert pytest.approx(0.2) == defaults.MOVE
    # a: 0.5, 0.5, 1.0 and 0 moved: three in full, one not at all
    assert flips.moved[0].value == pytest.approx(0.75)
    # b: |-0.1| and |0.1| are half the move each, 0.3 is past it: (0.5 + 0.5 + 0 + 1) / 4
    assert flips.moved[1].value == pytest.approx(0.5)
    assert flips.moved[2].value == pytest.approx(0.25)  # c: 0.2 is the move itself
    assert flips.moved[0].definition.startswith("Moved share of a")
    assert flips.as_dict()["moved"]["b"]["value"] == pytest.approx(0.5)
    # one face with a huge change counts once: the flip loss ranks it first, the share does not
    huge = torch.tensor([[9.0, 0.3], [0.0, 0.3], [0.0, 0.3], [0.0, 0.0]])
    both = counterfactual_flips(huge, torch.zeros(4, 2, dtype=torch.bool), config=CONFIG)
    assert both.loss[0].value > both.loss[1].value
    assert both.moved[0].value < both.moved[1].value


def test_an_attribute_left_out_for_moving_the_label_is_recorded_with_its_leak() -> None:
    loss, changed = _data()
    flips = counterfactual_flips(
        loss, changed, [True, False, True], names=NAMES, config=CONFIG, label_leak={"b": 0.12345}
    )
    assert flips.excluded == ("b",) and flips.as_dict()["label_leak"] == {"b": 0.1235}
    with pytest.raises(ValueError, match="not left out"):
        counterfactual_flips(loss, changed, names=NAMES, config=CONFIG, label_leak={"a": 0.2})


def test_flips_refuse_bad_shapes_and_non_finite_losses() -> None:
    loss, changed = _data()
    with pytest.raises(ValueError, match="expected flip_loss"):
        counterfactual_flips(loss, changed[:, :2], names=NAMES)
    bad = loss.clone()
    bad[0, 0] = float("nan")
    with pytest.raises(ValueError, match="non-finite"):
        counterfactual_flips(bad, changed, names=NAMES)


def test_the_change_is_paired_by_probe_id() -> None:
    loss, changed = _data()
    more = changed.clone()
    more[3, 0] = True  # one more probe changes its answer when a is flipped
    ids = ("p0", "p1", "p2", "p3")
    order = [3, 0, 2, 1]  # the head lists its probes in another order
    diff = flips_difference(
        (loss, changed), (loss[order], more[order]), names=NAMES, config=CONFIG,
        base_ids=ids, head_ids=tuple(ids[i] for i in order),
    )  # fmt: skip
    assert diff.of("a").value == pytest.approx(0.25)
    assert diff.of("b").value == 0 and diff.loss[0].value == pytest.approx(0.0)
    assert diff.of("a").definition.startswith("Change head - baseline")


def test_toward_positive_signs_each_loss_change_by_the_way_the_answer_moves() -> None:
    from sia_audit.metrics.counterfactual import toward_positive

    # a binary cross-entropy falls as the logit rises on a positive face and rises on a negative
    loss = torch.tensor([[-0.3, 0.3], [0.3, -0.3]])
    a0 = torch.tensor([[0.0, 1.0], [0.0, 0.5]])  # face 0: a turns on, b turns off
    positive = torch.tensor([1.0, 0.0])
    t = toward_positive(loss, a0, positive)
    # face 0 is positive: a's flip lowered its loss as a turned on (toward +); b's flip raised
    # it as b turned off, so turning b on moves the answer toward + as well
    assert t[0].tolist() == pytest.approx([0.3, 0.3])
    # face 1 is negative: a's flip raised its loss (the answer moved toward +) as a turned on;
    # b sits at 0.5, where a flip has no direction
    assert t[1].tolist() == pytest.approx([0.3, 0.0])
    with pytest.raises(ValueError, match="expected a0"):
        toward_positive(loss, a0[:, :1], positive)


def test_the_push_is_the_size_of_the_mean_move_and_keeps_its_direction() -> None:
    from sia_audit.metrics.counterfactual import toward_positive

    loss = torch.tensor([[0.5, -0.5], [-0.5, 0.5], [0.5, 0.5], [-0.5, 0.02]])
    changed = torch.zeros(4, 2, dtype=torch.bool)
    a0 = torch.zeros(4, 2)  # every flip turns its attribute on
    positive = torch.tensor([0.0, 1.0, 0.0, 1.0])
    toward = toward_positive(loss, a0, positive)
    flips = counterfactual_flips(loss, changed, names=("a", "b"), config=CONFIG, toward=toward)
    assert pytest.approx(0.05) == defaults.PUSH_MOVE
    # a: every face's answer moved toward + past the bound (the loss fell on the positive ones)
    assert flips.push[0].value == pytest.approx(1.0) and flips.push_toward["a"] == 1
    # b: -1, -1, +1 and 0.02 / 0.05 of a face away (-0.4): a mean of -0.35, away from +
    assert flips.push[1].value == pytest.approx(0.35)
    assert flips.push_toward["b"] == -1
    assert flips.push[1].low <= flips.push[1].value <= flips.push[1].high
    assert flips.push[0].definition.startswith("Push of a")
    written = flips.as_dict()
    assert written["push_toward"] == {"a": 1, "b": -1}
    assert written["push"]["a"]["value"] == pytest.approx(1.0)
    # without the signed moves (a target that is not binary) there is no push to write
    assert "push" not in counterfactual_flips(loss, changed, config=CONFIG).as_dict()


def test_a_large_change_that_moves_the_answer_both_ways_pushes_less_than_a_small_one_way() -> None:
    from sia_audit.metrics.counterfactual import toward_positive

    n = 40
    positive = (torch.arange(n) % 2).float()
    a0 = torch.zeros(n, 2)
    big = torch.where(torch.arange(n) % 4 < 2, 2.0, -2.0)  # every face moved far, both ways
    small = torch.where(positive > 0, -0.1, 0.1)  # every face a little, always toward +
    loss = torch.stack([big, small], dim=1)
    toward = toward_positive(loss, a0, positive)
    flips = counterfactual_flips(loss, torch.zeros(n, 2, dtype=torch.bool), config=CONFIG,
                                 toward=toward)  # fmt: skip
    assert flips.moved[0].value == pytest.approx(1.0) and flips.moved[1].value == pytest.approx(0.5)
    assert flips.push[0].value < 0.1 and flips.push[1].value == pytest.approx(1.0)
