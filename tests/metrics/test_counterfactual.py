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
