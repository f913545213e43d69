"""Flips that redraw the label: left out of the flip figures, with how far they move it."""

from __future__ import annotations

import pytest
import torch

from sia_audit import defaults
from sia_audit.audit.figures import attribute_figures, label_leak
from sia_audit.metrics import BootstrapConfig
from sia_audit.metrics.editability import (
    AttributeEditability,
    Editability,
    class_mean_moves,
    editability,
)
from sia_audit.metrics.estimate import Estimate
from sia_audit.results import ProbeData

NAMES = ("Bald", "Brown_Hair", "Black_Hair", "Smiling")
CONFIG = BootstrapConfig(resamples=50, seed=0)


def _est(v: float) -> Estimate:
    return Estimate(v, v, v, 0.95, 4, "x")


def _editability(leaks: dict[str, dict[str, float]]) -> Editability:
    rows = tuple(
        AttributeEditability(a, _est(0.9), _est(0.01), None, True, leaks_to=leaks.get(a, {}))
        for a in NAMES
    )
    return Editability("c", 0.8, rows, 4)


def _probes(n: int = 4) -> ProbeData:
    zeros = torch.zeros(n)
    k = len(NAMES)
    return ProbeData(
        NAMES[:0], None, None, zeros, zeros, zeros, zeros, zeros, zeros, zeros.bool(),
        zeros.bool(), zeros.bool(), zeros, zeros, None, None, None,
        flip_loss=torch.rand(n, k), flip_changed=torch.rand(n, k) > 0.5,
    )  # fmt: skip


def test_the_editability_check_records_how_far_each_flip_moves_every_other_attribute(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(defaults, "MIN_LEAK_CLASS", 1)  # three probes: every class counts
    a0 = torch.tensor([[1.0, 0.0], [0.0, 1.0], [0.0, 0.0]])
    p_rec = torch.tensor([[0.9, 0.2], [0.1, 0.8], [0.1, 0.1]])
    p_flip = torch.tensor(
        [[[0.1, 0.6], [0.9, 0.7]], [[0.9, 0.8], [0.2, 0.1]], [[0.9, 0.1], [0.4, 0.9]]]
    )
    e = editability(a0, p_rec, p_flip, names=("x", "y"), classifier="c")
    # flipping x moves y by 0.4 and 0.0 on the probes without y, 0.0 on the one with it: the
    # larger class mean is 0.2 (over every probe it would be 0.133)
    assert e.of("x").leaks_to == {"y": pytest.approx(0.2)}
    # flipping y moves x by 0.0 on the probe with x, by 0.1 and 0.3 on those without it
    assert e.of("y").leaks_to == {"x": pytest.approx(0.2)}


def test_a_move_confined_to_the_faces_with_an_attribute_is_not_diluted_by_the_rest() -> None:
    moved = torch.tensor([[0.3, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.0], [0.0, 0.1]])
    on = torch.tensor([[True, False], [False, False], [False, False], [False, False],
                       [False, False]])  # fmt: skip
    # column 0: 0.3 on its one face with it, 0 elsewhere; column 1: nobody has it
    assert class_mean_moves(moved, on, min_count=1).tolist() == pytest.approx([0.3, 0.02])


def test_a_class_of_too_few_probes_does_not_decide_the_leak() -> None:
    n = 40
    moved = torch.zeros(n, 2)
    on = torch.zeros(n, 2, dtype=torch.bool)
    on[:3, 0] = True  # three faces with the attribute, one moved a lot
    moved[0, 0] = 0.6
    on[:8, 1] = True  # eight: enough to count
    moved[:8, 1] = 0.2
    got = class_mean_moves(moved, on, min_count=8)
    # column 0: the three faces do not count, the 37 without it moved 0; column 1: 0.2
    assert got.tolist() == pytest.approx([0.0, 0.2])
    assert class_mean_moves(moved, on, min_count=3)[0] == pytest.approx(0.2)


def test_a_flip_that_moves_the_label_beyond_the_limit_leaves_the_flip_figures() -> None:
    over, under = defaults.MAX_LABEL_LEAK + 0.01, defaults.MAX_LABEL_LEAK - 0.01
    e = _editability({"Bald": {"Brown_Hair": over}, "Smiling": {"Brown_Hair": under}})
    assert label_leak(e, ("Brown_Hair",))["Bald"] == pytest.approx(over)
    figures = attribute_figures(_probes(), NAMES, [True, False, True, True], ("Brown_Hair",),
                                CONFIG, e)  # fmt: skip
    flips = figures["counterfactual_flips"]
    # Black_Hair is the label's exclusive partner; Bald redraws the label; Smiling stays.
    assert flips.attributes == ("Smiling",)
    assert flips.excluded == ("Bald", "Brown_Hair", "Black_Hair")
    assert flips.label_leak == {"Bald": pytest.approx(over)}


def test_without_an_editability_check_or_a_label_nothing_is_left_out_for_leaking() -> None:
    assert label_leak(None, ("Brown_Hair",)) == {}
    assert label_leak(_editability({"Bald": {"Brown_Hair": 0.5}}), ()) == {}
    figures = attribute_figures(_probes(), NAMES, [True] * 4, (), CONFIG, None)
    assert figures["counterfactual_flips"].attributes == NAMES
