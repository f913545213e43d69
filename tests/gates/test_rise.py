"""The regression rule: material and significant, with simultaneous intervals, in words."""

from __future__ import annotations

import pytest
import torch

from sia_audit.gates.rise import Rise, check_fall, check_rise
from sia_audit.metrics.bootstrap import simultaneous_margin


@pytest.mark.parametrize(
    ("rise", "confident", "status", "words"),
    [
        (Rise(0.005, -0.01, 0.02), True, "pass", "within the allowance 0.01"),
        (Rise(0.01, 0.005, 0.015), True, "pass", "within the allowance 0.01"),  # boundary
        (Rise(0.037, -0.004, 0.081, 14), True, "pass", "but not surely: its interval, "
         "simultaneous over the 14 attribute tests, reaches 0"),
        (Rise(0.037, 0.001, 0.081), True, "fail", "and surely: its interval lies above 0"),
        (Rise(0.037, -0.004, 0.081), False, "fail", "rose by 0.037, more than the allowance"),
        (Rise(0.037, 0.0, 0.081), True, "pass", "but not surely"),  # a low end of 0 is not > 0
    ],
)  # fmt: skip
def test_a_rise_fails_when_material_and_significant(
    rise: Rise, confident: bool, status: str, words: str
) -> None:
    verdict = check_rise("regression w[Mustache]", rise, 0.01, confident)
    assert verdict.status == status and words in verdict.message, verdict.message
    assert verdict.threshold == 0.01 and verdict.bound == "max"
    assert verdict.message.startswith(f"regression w[Mustache] = {rise.value:+.4g}")


def test_a_fall_is_the_same_rule_in_the_other_direction() -> None:
    fell = check_fall("regression clean_accuracy", Rise(-0.05, -0.08, -0.02), 0.01, True)
    assert fell.status == "fail" and "fell by 0.05" in fell.message
    assert "lies below 0" in fell.message and fell.threshold == -0.01 and fell.bound == "min"
    rose = check_fall("regression clean_accuracy", Rise(0.05, 0.02, 0.08), 0.01, True)
    assert rose.status == "pass" and "within the allowance 0.01" in rose.message
    unsure = check_fall("regression clean_accuracy", Rise(-0.05, -0.09, 0.01), 0.01, True)
    assert unsure.status == "pass" and "but not surely" in unsure.message


def test_the_simultaneous_margin_covers_every_figure_at_once() -> None:
    torch.manual_seed(0)
    reps = torch.randn(4000, 10) * torch.linspace(0.5, 2.0, 10)  # ten figures, other scales
    point = torch.zeros(10)
    margin, c = simultaneous_margin(point, reps, 0.95)
    # The joint coverage: in 95% of resamples every figure lies below point + margin.
    covered = (reps - point <= margin).all(dim=1).float().mean()
    assert abs(float(covered) - 0.95) < 0.01
    # Wider than one figure's own 95% bound (1.645 se), narrower than Bonferroni's for 10.
    assert 1.645 < c < 2.58
    torch.testing.assert_close(margin, c * reps.std(dim=0))


def test_a_figure_that_never_varies_gets_no_margin() -> None:
    reps = torch.cat([torch.randn(500, 1), torch.zeros(500, 1)], dim=1)
    margin, _ = simultaneous_margin(torch.zeros(2), reps, 0.95)
    assert margin[1] == 0 and margin[0] > 0
    assert simultaneous_margin(torch.zeros(2), torch.zeros(500, 2), 0.95)[1] == 0.0
