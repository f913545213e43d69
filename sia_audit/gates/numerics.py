"""How far an audit's figures can move when only the arithmetic changes (docs/figures-travel.md).

The same audit on the same torch gives bit-identical figures for 1 or 2 threads, and on one machine
for torch's AVX2 and AVX512 kernels; with torch's portable kernels (ATEN_CPU_CAPABILITY=default) s
moved by up to 0.0154, SDAR of s by 0.0006 and w by 0.0023 (benchmarks/validity/figures_travel.py,
2026-11-30; w's on 2026-12-01). Between two machines, one with AVX512 and one with only AVX2, the
demo control's audit moved s by up to 0.0075, SDAR of s by 0.0006 and w by 0.0031 (2026-12-07):
within the same floors; so did two machines that both report AVX512 (s by up to 0.011, w by
0.0044), which is why the processor itself is part of the arithmetic (audit.processor): a
report without it counts as made with other arithmetic. Signed steps amplify rounding: a
gradient component near zero can change sign, and 50 steps of eta_a = 4/255 then move that
attribute along another path. A regression against a baseline made with other arithmetic must
not fail on that, so its allowances are raised to these floors; between reports with the same
arithmetic (one processor, one torch, one set of settings) the figures are exact and the
policy's allowances stand.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Measured maxima across CPU kernels, rounded up; GPU against CPU is not measured yet.
FLOORS = {"s": 0.02, "sdar_s": 0.002, "w": 0.005}

# Provenance fields that decide the arithmetic (threads do not: measured identical).
TOP_LEVEL = ("device", "processor", "cpu_capability", "torch_version", "batch_size", "ranks",
             "torch_compile", "cuda_graphs")  # fmt: skip
ATTACK_LEVEL = ("autocast_bf16", "channels_last")


def arithmetic_differences(base: Mapping[str, Any], head: Mapping[str, Any]) -> list[str]:
    """`field baseline -> head` for each arithmetic field on which two provenances differ."""
    out = [
        f"{key} {base.get(key)} -> {head.get(key)}"
        for key in TOP_LEVEL
        if base.get(key) != head.get(key)
    ]
    base_attack, head_attack = base.get("attack") or {}, head.get("attack") or {}
    out += [
        f"{key} {base_attack.get(key)} -> {head_attack.get(key)}"
        for key in ATTACK_LEVEL
        if base_attack.get(key) != head_attack.get(key)
    ]
    return out


def allowance(figure: str, allowed: float, differences: list[str]) -> tuple[float, str]:
    """The allowance to check `figure` against, and a note when it was raised to the floor."""
    floor = FLOORS.get(figure, 0.0)
    if not differences or allowed >= floor:
        return allowed, ""
    return floor, (
        f" (allowance raised from {allowed:g} to the rounding floor {floor:g}: the baseline was "
        f"computed with other arithmetic, {'; '.join(differences)})"
    )
