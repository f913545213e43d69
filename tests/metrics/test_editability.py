"""Expression rate and leakage from classifier probabilities, checked on hand-made numbers."""

from __future__ import annotations

import pytest
import torch

from sia_audit.metrics import BootstrapConfig
from sia_audit.metrics.editability import crossed, editability

NAMES = ("Mustache", "Smiling")
FAST = BootstrapConfig(resamples=200, seed=0)


def test_crossed_needs_the_source_side_before_and_the_other_side_after() -> None:
    before = torch.tensor([0.9, 0.9, 0.2, 0.1])
    after = torch.tensor([0.1, 0.8, 0.9, 0.4])
    on = torch.tensor([True, True, True, False])
    # 1: on -> off, right; 2: stayed on; 3: the reconstruction already lost the feature (0.2),
    # so removing it changed nothing; 4: stayed off.
    assert crossed(before, after, on).tolist() == [True, False, False, False]


def test_expression_rate_leakage_and_measurability() -> None:
    a0 = torch.tensor([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0], [0.0, 1.0]])
    p_rec = torch.tensor([[0.9, 0.1], [0.9, 0.9], [0.1, 0.1], [0.1, 0.9]])
    p_flip = torch.zeros(4, 2, 2)
    # Flipping Mustache is drawn on every probe and moves Smiling's probability by 0.2.
    p_flip[:, 0, 0] = torch.tensor([0.1, 0.1, 0.9, 0.9])
    p_flip[:, 0, 1] = p_rec[:, 1] + torch.tensor([0.2, -0.2, 0.2, -0.2])
    # Flipping Smiling is drawn on one probe in four; it leaves Mustache alone.
    p_flip[:, 1, 1] = torch.tensor([0.9, 0.9, 0.1, 0.9])
    p_flip[:, 1, 0] = p_rec[:, 0]
    e = editability(a0, p_rec, p_flip, names=NAMES, classifier="test", config=FAST)
    mustache, smiling = e.of("Mustache"), e.of("Smiling")
    assert mustache.expression.value == 1.0 and mustache.measurable
    assert mustache.leakage.value == pytest.approx(0.2) and mustache.most_leaked_to == "Smiling"
    assert smiling.expression.value == 0.25 and not smiling.measurable
    assert smiling.leakage.value == pytest.approx(0.0)
    assert e.unmeasurable == ("Smiling",)
    assert "Expression rate of Smiling" in smiling.expression.definition
    d = e.as_dict()
    assert d["unmeasurable"] == ["Smiling"] and d["attributes"]["Mustache"]["measurable"]


def test_the_threshold_is_the_policy_s() -> None:
    a0 = torch.tensor([[1.0], [1.0], [1.0], [1.0], [1.0]])
    p_rec = torch.full((5, 1), 0.9)
    p_flip = torch.tensor([0.1, 0.1, 0.1, 0.1, 0.9]).view(5, 1, 1)
    strict = editability(a0, p_rec, p_flip, names=("Bald",), classifier="t", min_expression=0.9)
    loose = editability(a0, p_rec, p_flip, names=("Bald",), classifier="t", min_expression=0.8)
    assert strict.unmeasurable == ("Bald",) and loose.unmeasurable == ()


def test_shapes_are_checked() -> None:
    with pytest.raises(ValueError, match="p_flip"):
        editability(torch.zeros(3, 2), torch.zeros(3, 2), torch.zeros(3, 2), names=NAMES,
                    classifier="t")  # fmt: skip
