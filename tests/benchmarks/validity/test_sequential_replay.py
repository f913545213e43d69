"""The early-decision replay: where a run would stop, and whether its verdict is every probe's."""

from __future__ import annotations

from benchmarks.validity.sequential import replay
from benchmarks.validity.sequential_design import plan, stretched
from sia_audit.results import GateVerdict

DESIGN = plan(256, 32)  # looks at 64, 128, 192 and 256 probes


def verdict(
    gate: str, value: float, half: float, k: int, r: float, threshold: float
) -> GateVerdict:
    """A confident max gate at look k whose fixed-level interval on all 256 probes would be
    value +- half (wider by sqrt(256 / n) on n probes), stretched by r."""
    half *= (256 / DESIGN.looks[k]) ** 0.5
    low, high = stretched(value, value - half, value + half, r)
    status = "fail" if low > threshold else "pass"
    return GateVerdict(gate, status, value, low, high, threshold, "max", True, "")


def test_a_sure_failure_stops_at_the_first_look_when_the_verdict_is_what_counts() -> None:
    design = plan(256, 32, until="verdict")

    def at(k: int, r: float) -> list[GateVerdict]:
        # w far above its ceiling from the start; the low end of s sits on its line.
        return [verdict("w[A]", 0.4, 0.05, k, r, 0.095), verdict("s[A]", 0.23, 0.03, k, r, 0.2)]

    assert replay(at, design) == (1, True, True)
    # Waiting for every gate: s on its line is never settled before the last look.
    assert replay(at, plan(256, 32, until="gates")) == (4, True, True)


def test_a_clear_pass_stops_early_and_a_close_one_runs_to_the_end() -> None:
    design = plan(256, 32)

    def clear(k: int, r: float) -> list[GateVerdict]:
        return [verdict("w[A]", 0.01, 0.005, k, r, 0.095)]

    def close(k: int, r: float) -> list[GateVerdict]:
        return [verdict("w[A]", 0.104, 0.01, k, r, 0.095)]

    assert replay(clear, design) == (1, False, False)
    assert replay(close, design) == (4, False, False)
