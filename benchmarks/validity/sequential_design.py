"""Decide early: a group-sequential design whose intervals hold at every look.

Not wired into `sia-audit run`: benchmarks/validity/sequential.py replays it on saved audits
to measure what it would save and whether its intervals keep their coverage
(docs/performance.md, section 10). The design: the probes are attacked in batches. At a few
planned looks (batch ends) every figure is measured on the probes attacked so far and every
gate is checked; the audit stops at the first look where the verdict is settled. Looking
more than once would make 95% intervals cover less than 95% of the time, so each look draws
its intervals wider:

- **Error spending** (Lan and DeMets): the 5% a 95% interval may miss is spent over the looks
  by a spending function of the information fraction t = n_k / N, O'Brien-Fleming-type by
  default (almost nothing early, nearly all at the last look, whose intervals are then barely
  wider than a fixed-sample one) or Pocock-type (evenly). `boundaries` turns the spending into
  critical values c_1..c_K for the running mean's z-statistic (Brownian-motion correlations
  between looks, integrated numerically), so that with probability 1 - alpha *every* look's
  interval covers the true value at once. Any rule that stops at a look therefore keeps the
  coverage, whatever it looks at.
- **Each interval at look k** is the fixed-sample bootstrap interval (same resamples, same
  code) with both sides stretched about the estimate by r_k = c_k / z, z the fixed level's
  normal quantile (1.96 at 95%): for an asymptotically normal figure that is the group-sequential
  interval, and it needs no bootstrap tail beyond the 95% one. One look (a single
  batch) has r = 1: the intervals are exactly the fixed-sample ones.
- **Settled** (`settle`): at look k a gate's verdict is settled when the verdict all N planned
  probes would give is all but certain: even if the figure's true value sat at the far end of
  its look-k interval (the end that would turn the verdict), the remaining probes would turn it
  with probability below 1 - certainty (a normal projection of the running mean over the
  remaining probes). The last look settles everything.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any, Literal

import numpy as np

Spending = Literal["obrien-fleming", "pocock"]
SPENDINGS: tuple[str, ...] = ("obrien-fleming", "pocock")
Until = Literal["gates", "verdict"]

LOOKS = 4  # planned looks, at most (fewer when there are fewer batches)
CERTAINTY = 0.99  # how sure a settled verdict is that all N would agree
MIN_LOOK_PROBES = 32  # no look on fewer probes: the normal projection needs some
_NORMAL = NormalDist()
_GRID = 801  # integration points per look (odd: Simpson's rule)


def spent(t: float, alpha: float, spending: str) -> float:
    """Error spent by information fraction t (0 < t <= 1): alpha at t = 1."""
    if t >= 1.0:
        return alpha
    if spending == "obrien-fleming":
        return 2.0 * (1.0 - _NORMAL.cdf(_NORMAL.inv_cdf(1.0 - alpha / 2.0) / math.sqrt(t)))
    if spending == "pocock":
        return alpha * math.log(1.0 + (math.e - 1.0) * t)
    raise ValueError(f"unknown spending {spending!r}; use one of {', '.join(SPENDINGS)}")


def _simpson(m: int) -> list[float]:
    w = [2.0 if i % 2 == 0 else 4.0 for i in range(m)]
    w[0] = w[-1] = 1.0
    return w


def boundaries(fractions: Sequence[float], alpha: float, spending: str) -> tuple[float, ...]:
    """Two-sided critical values c_k of the z-statistic at each look (information fractions,
    increasing, the last 1) such that P(|Z_k| >= c_k for some k) = alpha with alpha(t_k) spent
    by look k: the Armitage-McPherson-Rowe recursion on the Brownian motion S(t) = Z sqrt(t)."""
    t = [float(x) for x in fractions]
    if not t or any(b <= a for a, b in zip(t, t[1:], strict=False)) or t[-1] != 1.0:
        raise ValueError(f"information fractions must increase to 1, got {t}")
    if t[0] <= 0.0:
        raise ValueError("information fractions must be positive")
    erfc = np.vectorize(math.erfc, otypes=[float])
    out: list[float] = []
    density = grid = weights = None
    previous = 0.0
    for k, tk in enumerate(t):
        increment = spent(tk, alpha, spending) - previous
        previous += increment
        if k == 0:
            c = _NORMAL.inv_cdf(1.0 - increment / 2.0) if increment > 1e-15 else 8.0
            out.append(c)
            b = c * math.sqrt(tk)
            grid = np.linspace(-b, b, _GRID)
            weights = np.array(_simpson(_GRID)) * (grid[1] - grid[0]) / 3.0
            density = np.exp(-0.5 * grid**2 / tk) / math.sqrt(2.0 * math.pi * tk)
            continue
        assert density is not None and grid is not None and weights is not None
        sd = math.sqrt(tk - t[k - 1])
        mass = density * weights

        def crossing(b: float, mass: Any = mass, grid: Any = grid, sd: float = sd) -> float:
            upper = 0.5 * erfc((b - grid) / (sd * math.sqrt(2.0)))
            lower = 0.5 * erfc((b + grid) / (sd * math.sqrt(2.0)))
            return float(np.sum(mass * (upper + lower)))

        if increment <= 1e-15:
            b = 8.0 * math.sqrt(tk)
        else:
            lo, hi = 0.0, 10.0 * math.sqrt(tk)
            for _ in range(60):  # crossing(b) falls as b grows
                mid = 0.5 * (lo + hi)
                lo, hi = (mid, hi) if crossing(mid) > increment else (lo, mid)
            b = 0.5 * (lo + hi)
        out.append(b / math.sqrt(tk))
        new_grid = np.linspace(-b, b, _GRID)
        kernel = np.exp(-0.5 * ((new_grid[:, None] - grid[None, :]) / sd) ** 2)
        density = kernel @ mass / (sd * math.sqrt(2.0 * math.pi))
        grid = new_grid
        weights = np.array(_simpson(_GRID)) * (grid[1] - grid[0]) / 3.0
    return tuple(out)


def look_sizes(n: int, batch_size: int, looks: int = LOOKS) -> tuple[int, ...]:
    """Probes attacked at each planned look: batch ends near k * n / looks, the last n.

    No look before MIN_LOOK_PROBES probes (or one batch, whichever is more).
    """
    if n < 1 or batch_size < 1 or looks < 1:
        raise ValueError("probes, batch size and looks must be positive")
    ends = [min(n, b) for b in range(batch_size, n + batch_size, batch_size)]
    floor = max(MIN_LOOK_PROBES, batch_size)
    sizes: list[int] = []
    for k in range(1, looks + 1):
        want = k * n / looks
        end = min((e for e in ends if e >= want - 1e-9), default=n)
        if end >= floor and (not sizes or end > sizes[-1]):
            sizes.append(end)
    if not sizes or sizes[-1] != n:
        sizes.append(n)
    return tuple(sizes)


@dataclass(frozen=True)
class Design:
    """The planned looks of an audit and the interval stretch at each."""

    planned: int  # N, every probe of the set
    looks: tuple[int, ...]  # probes attacked at each look; the last is N
    level: float  # the intervals' joint coverage over every look
    spending: str
    bounds: tuple[float, ...]  # c_k
    until: str = "gates"
    certainty: float = CERTAINTY

    @property
    def z(self) -> float:
        """The fixed-sample quantile the bootstrap intervals are drawn at."""
        return _NORMAL.inv_cdf((1.0 + self.level) / 2.0)

    def stretch(self, k: int) -> float:
        """r_k: how much wider than the fixed-sample interval look k's intervals are."""
        return 1.0 if len(self.looks) == 1 else self.bounds[k] / self.z

    def as_dict(self) -> dict[str, Any]:
        return {
            "planned_probes": self.planned,
            "looks": list(self.looks),
            "level": self.level,
            "spending": self.spending,
            "bounds": [round(c, 4) for c in self.bounds],
            "stretch": [round(self.stretch(k), 4) for k in range(len(self.looks))],
            "until": self.until,
            "certainty": self.certainty,
        }


def plan(
    n: int,
    batch_size: int,
    *,
    looks: int = LOOKS,
    level: float = 0.95,
    spending: str = "obrien-fleming",
    until: str = "gates",
    certainty: float = CERTAINTY,
) -> Design:
    """The looks for n probes in batches of batch_size, and their critical values."""
    sizes = look_sizes(n, batch_size, looks)
    fractions = [s / n for s in sizes]
    bounds = boundaries(fractions, 1.0 - level, spending)
    return Design(n, sizes, level, spending, bounds, until, certainty)


def fixed(n: int, level: float = 0.95) -> Design:
    """One look on every probe: the fixed-sample intervals (--probes-all)."""
    return Design(n, (n,), level, "none", (_NORMAL.inv_cdf((1.0 + level) / 2.0),))


def stretched(value: float, low: float, high: float, r: float) -> tuple[float, float]:
    """A fixed-sample interval [low, high] about `value`, each side r times as wide."""
    return value - r * (value - low), value + r * (high - value)


@dataclass(frozen=True)
class Check:
    """What `settle` needs of one gate verdict (results.GateVerdict has these fields)."""

    gate: str
    status: str
    value: float | None
    low: float | None
    high: float | None
    threshold: float | None
    bound: str | None
    use_confidence: bool


def settle(
    v: Check,
    design: Design,
    k: int,
    probes: int | None = None,
    planned: int | None = None,
) -> bool:
    """Is this gate's verdict at look k (its interval already stretched by r_k) settled?

    `probes`/`planned` override the look's probe count and N for a figure measured on other
    probes (regressions pair only the probes the baseline holds too). Gates without a figure
    (skipped, unmeasurable) and gates checked on every probe already are settled.
    """
    n = design.looks[k] if probes is None else probes
    big_n = design.planned if planned is None else planned
    if v.status not in ("pass", "fail") or n >= big_n:
        return True
    if v.value is None or v.low is None or v.high is None or v.threshold is None:
        return True
    value, low, high, threshold = v.value, v.low, v.high, v.threshold
    if v.bound == "min":  # the mirror image of a max: fails when the figure is too small
        value, low, high, threshold = -value, -high, -low, -threshold
    rise = v.gate.startswith("regression ")
    r_k, r_last = design.stretch(k), design.stretch(len(design.looks) - 1)
    h_lo, h_hi = (value - low) / r_k, (high - value) / r_k  # fixed-level half-widths at n
    m = big_n - n
    shrink = math.sqrt(n / big_n)
    final_lo = r_last * h_lo * shrink  # the last look's lower half-width, projected
    if rise:  # material (above the allowance) and, with confidence, significant (above 0)
        bar = max(threshold, final_lo) if v.use_confidence else threshold
    else:
        bar = threshold + final_lo if v.use_confidence else threshold

    def p_fail(theta: float, h: float) -> float:
        """P(the last look's estimate lies past the bar | true value theta)."""
        mean = (n * value + m * theta) / big_n
        tau = (h / design.z) * math.sqrt(n * m) / big_n
        if tau <= 0:
            return 1.0 if mean > bar else 0.0
        return 1.0 - _NORMAL.cdf((bar - mean) / tau)

    gamma = 1.0 - design.certainty
    if v.status == "pass":
        return p_fail(high, h_hi) < gamma
    return 1.0 - p_fail(low, h_lo) < gamma
