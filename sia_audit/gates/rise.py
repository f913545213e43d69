"""The regression rule: a rise fails when it is both material and significant.

Material: its estimate exceeds the policy's allowance. Significant: its interval lies above
zero. A per-attribute figure is tested on every gated attribute at once, so its intervals are
simultaneous over all of them (the max-T bootstrap, `metrics.bootstrap.simultaneous_margin`):
gating 14 attributes raises no more false alarms than gating one. A rise above the allowance
that is not significant passes, and its message says so: two truthful models that differ only
in their seed differ a little on many attributes, and a gate on significance alone would stop
them; a gate on the estimate alone would stop noise on a few probes.
"""

from __future__ import annotations

from dataclasses import dataclass

from sia_audit.results import GateVerdict

RULE = "a rise fails when its estimate is above the allowance and its interval above 0"


@dataclass(frozen=True)
class Rise:
    """A paired change head - baseline: its estimate and interval, and how many were tested
    together (1 for a single figure; the interval is simultaneous over `tests`)."""

    value: float
    low: float
    high: float
    tests: int = 1


def _why(size: float, low: float, allowance: float, tests: int, uc: bool, verb: str) -> str:
    """Why a change of `size` (> 0 is the bad direction) passes or fails, in words."""
    span = (
        "its interval"
        if tests == 1
        else (f"its interval, simultaneous over the {tests} attribute tests,")
    )
    if size <= allowance:
        return f"within the allowance {allowance:g}"
    said = f"{verb} by {size:.4g}, more than the allowance {allowance:g}"
    if not uc:
        return said
    side = "above" if verb == "rose" else "below"
    if low > 0:
        return f"{said}, and surely: {span} lies {side} 0"
    return f"{said}, but not surely: {span} reaches 0"


def _verdict(
    gate: str,
    change: Rise,
    size: Rise,
    allowance: float,
    uc: bool,
    note: str,
    verb: str,
    bound: str,
) -> GateVerdict:
    failed = size.value > allowance and (size.low > 0 or not uc)
    why = _why(size.value, size.low, allowance, size.tests, uc, verb)
    return GateVerdict(
        gate=gate,
        status="fail" if failed else "pass",
        value=change.value,
        low=change.low,
        high=change.high,
        threshold=allowance if bound == "max" else -allowance,
        bound="max" if bound == "max" else "min",
        use_confidence=uc,
        message=f"{gate} = {change.value:+.4g} [{change.low:.4g}, {change.high:.4g}]: {why}{note}",
    )


def check_rise(
    gate: str, rise: Rise, allowance: float, use_confidence: bool, note: str = ""
) -> GateVerdict:
    """A figure that may rise by at most `allowance` (the rule above), said in words."""
    return _verdict(gate, rise, rise, allowance, use_confidence, note, "rose", "max")


def check_fall(
    gate: str, change: Rise, allowance: float, use_confidence: bool, note: str = ""
) -> GateVerdict:
    """A figure that may fall by at most `allowance` (clean accuracy): the rule on -change."""
    fall = Rise(-change.value, -change.high, -change.low, change.tests)
    return _verdict(gate, change, fall, allowance, use_confidence, note, "fell", "min")
