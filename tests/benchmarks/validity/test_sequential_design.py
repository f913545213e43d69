"""Decide early: group-sequential boundaries, looks, stretched intervals and settled verdicts."""

from __future__ import annotations

import math

import numpy as np
import pytest

from benchmarks.validity.sequential_design import (
    Check,
    boundaries,
    fixed,
    look_sizes,
    plan,
    settle,
    spent,
    stretched,
)


@pytest.mark.parametrize("spending", ["obrien-fleming", "pocock"])
@pytest.mark.parametrize("fractions", [[0.5, 1.0], [0.25, 0.5, 0.75, 1.0], [0.3, 0.55, 1.0]])
def test_boundaries_spend_exactly_alpha_over_every_look(spending: str, fractions: list) -> None:
    c = np.array(boundaries(fractions, 0.05, spending))
    t = np.array(fractions)
    steps = np.diff(np.concatenate([[0.0], t]))
    rng = np.random.default_rng(7)
    s = np.cumsum(rng.standard_normal((400_000, len(t))) * np.sqrt(steps), axis=1)
    crossed = np.abs(s / np.sqrt(t)) >= c
    for k in range(len(t)):  # by look k, alpha(t_k) is spent, to Monte Carlo error
        assert crossed[:, : k + 1].any(axis=1).mean() == pytest.approx(
            spent(t[k], 0.05, spending), abs=0.0015
        )


def test_known_boundaries() -> None:
    # Lan-DeMets Pocock-type spending, two looks at 1/2 and 1, two-sided 0.05.
    assert boundaries([0.5, 1.0], 0.05, "pocock") == pytest.approx((2.157, 2.201), abs=2e-3)
    # O'Brien-Fleming-type: the first look spends 2(1 - Phi(1.96 / sqrt(t))).
    c = boundaries([0.25, 0.5, 0.75, 1.0], 0.05, "obrien-fleming")
    assert c[0] == pytest.approx(1.959964 / 0.5, abs=1e-3)
    assert c[-1] == pytest.approx(2.043, abs=3e-3) and list(c) == sorted(c, reverse=True)
    with pytest.raises(ValueError, match="increase to 1"):
        boundaries([0.5, 0.4, 1.0], 0.05, "pocock")
    with pytest.raises(ValueError, match="unknown spending"):
        spent(0.5, 0.05, "haybittle")


def test_looks_fall_on_batch_ends_and_end_on_every_probe() -> None:
    assert look_sizes(64, 32) == (32, 64)
    assert look_sizes(256, 32) == (64, 128, 192, 256)
    assert look_sizes(100, 32) == (32, 64, 96, 100)
    assert look_sizes(1000, 32, looks=4) == (256, 512, 768, 1000)
    assert look_sizes(10, 4) == (10,)  # fewer than 32 probes before the end: one look
    assert look_sizes(64, 32, looks=1) == (64,)


def test_one_look_is_the_fixed_sample_interval() -> None:
    d = plan(10, 4)
    assert d.looks == (10,) and d.stretch(0) == 1.0
    assert fixed(64).stretch(0) == 1.0
    two = plan(64, 32)
    assert two.stretch(0) > 1.4 and 1.0 < two.stretch(1) < 1.02
    assert stretched(0.5, 0.4, 0.7, 2.0) == pytest.approx((0.3, 0.9))


def check(status: str, value: float, low: float, high: float, threshold: float, **kw) -> Check:
    return Check(kw.pop("gate", "g"), status, value, low, high, threshold,
                 kw.pop("bound", "max"), kw.pop("use_confidence", True))  # fmt: skip


def test_settled_far_from_the_line_open_on_it() -> None:
    d = plan(256, 32)  # looks 64, 128, 192, 256
    r = d.stretch(0)
    lo, hi = stretched(0.02, 0.01, 0.03, r)
    assert settle(check("pass", 0.02, lo, hi, 0.055), d, 0)  # far below: settled
    lo, hi = stretched(0.05, 0.03, 0.07, r)
    assert not settle(check("pass", 0.05, lo, hi, 0.055), d, 0)  # on the line: open
    lo, hi = stretched(0.4, 0.3, 0.5, r)
    assert settle(check("fail", 0.4, lo, hi, 0.055), d, 0)  # far above: settled as failed
    assert settle(check("pass", 0.05, 0.0, 0.1, 0.055), d, 3)  # the last look settles all
    assert settle(check("skipped", 0.05, 0.0, 0.1, 0.055), d, 0)
    # A figure measured on every probe already (n = N) is settled at any look.
    assert settle(check("pass", 0.05, 0.03, 0.07, 0.055), d, 0, probes=256, planned=256)


def test_min_gates_and_rises_mirror_the_max_rule() -> None:
    d = plan(256, 32)
    r = d.stretch(1)
    lo, hi = stretched(0.97, 0.95, 0.99, r)
    assert settle(check("pass", 0.97, lo, hi, 0.9, bound="min", use_confidence=False), d, 1)
    lo, hi = stretched(0.91, 0.87, 0.95, r)
    assert not settle(check("pass", 0.91, lo, hi, 0.9, bound="min", use_confidence=False), d, 1)
    # A rise of 0.001 against an allowance of 0.01: settled as a pass.
    lo, hi = stretched(0.001, -0.004, 0.006, r)
    assert settle(check("pass", 0.001, lo, hi, 0.01, gate="regression s[A]"), d, 1)
    # Above the allowance but its interval reaches 0: not significant now, could be later.
    lo, hi = stretched(0.02, 0.001, 0.04, r)
    v = check("pass", 0.02, lo, hi, 0.01, gate="regression s[A]")
    assert lo < 0 and not settle(v, d, 1)


def test_a_settled_verdict_is_the_one_every_probe_gives() -> None:
    """Simulated figures (means of N normal values) with true values on and off the line: a
    verdict settled at an early look agrees with the last look's nearly always."""
    rng = np.random.default_rng(3)
    d = plan(256, 32)
    sd, disagree, settled = 0.1, 0, 0
    for truth in (0.03, 0.045, 0.05, 0.055, 0.06, 0.07, 0.09):
        for _ in range(300):
            x = rng.normal(truth, sd, 256)

            def verdict(k: int, x: np.ndarray = x) -> Check:
                n = d.looks[k]
                v, se = x[:n].mean(), x[:n].std(ddof=1) / math.sqrt(n)
                lo, hi = v - d.bounds[k] * se, v + d.bounds[k] * se
                return check("fail" if lo > 0.05 else "pass", v, lo, hi, 0.05)

            last = verdict(3).status
            for k in range(3):
                if settle(verdict(k), d, k):
                    settled += 1
                    disagree += verdict(k).status != last
                    break
    assert settled > 500 and disagree / settled < 0.01
