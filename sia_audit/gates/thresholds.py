"""The policy gate: pure functions from an audit's figures and a policy's thresholds to verdicts.

Each verdict carries the figure, its interval, the threshold and a sentence that says both, so
a report or a CI log shows why a gate failed. With `use_confidence`, a threshold fails only when
the whole interval lies past it: a figure whose interval straddles the line passes (not flaky).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from typing import Literal

from sia_audit.errors import ConfigError
from sia_audit.metrics import Estimate
from sia_audit.onnx.results import OnnxResult
from sia_audit.policy.gates import (
    AttributeEffectGate,
    FlipRateGate,
    GatesSection,
    PathShareGate,
    SensitivityGate,
    WeightedSensitivityGate,
)
from sia_audit.report_schema.per_attribute import PER_ATTRIBUTE
from sia_audit.results import AuditResult, GateVerdict, Status

FAILING: tuple[Status, ...] = ("fail", "unmeasurable")  # the statuses that fail a run
OnUnmeasurable = Literal["fail", "skip"]


def check_max(gate: str, e: Estimate, limit: float, use_confidence: bool) -> GateVerdict:
    """Fails when the value (or, with confidence, the whole interval) exceeds `limit`."""
    return _check(gate, e, limit, use_confidence, "max")


def check_min(gate: str, e: Estimate, limit: float, use_confidence: bool) -> GateVerdict:
    """Fails when the value (or, with confidence, the whole interval) falls below `limit`."""
    return _check(gate, e, limit, use_confidence, "min")


def _check(
    gate: str, e: Estimate, limit: float, use_confidence: bool, bound: Literal["max", "min"]
) -> GateVerdict:
    if bound == "max":  # with confidence, the nearest end of the interval decides
        failed = (e.low if use_confidence else e.value) > limit
        side = "above"
    else:
        failed = (e.high if use_confidence else e.value) < limit
        side = "below"
    basis = "its whole interval is" if use_confidence else "it is"
    beyond = e.value > limit if bound == "max" else e.value < limit
    if failed:
        verdict = f"{basis} {side} the {bound} {limit:g}"
    elif beyond:  # with confidence: the value is past the line, its interval is not wholly
        verdict = f"{side} the {bound} {limit:g}, but not surely: its interval reaches it"
    else:
        verdict = f"within the {bound} {limit:g}"
    return GateVerdict(
        gate=gate,
        status="fail" if failed else "pass",
        value=e.value,
        low=e.low,
        high=e.high,
        threshold=limit,
        bound=bound,
        use_confidence=use_confidence,
        message=f"{gate} = {e.value:.4g} [{e.low:.4g}, {e.high:.4g}]: {verdict}",
    )


def skipped(gate: str, reason: str) -> GateVerdict:
    """A gate that could not apply, with the reason (not an error, not a pass in disguise)."""
    return GateVerdict(gate, "skipped", None, None, None, None, None, False, f"{gate}: {reason}")


def unmeasurable(
    verdict: GateVerdict, why: str, on_unmeasurable: OnUnmeasurable = "fail"
) -> GateVerdict:
    """A per-attribute gate on an attribute the generator cannot draw: its figure means nothing.

    With `fail` (the default) the verdict is `unmeasurable`, which fails the run: a CI gate must
    not pass on what it cannot measure. With `skip` it is skipped, with the reason.
    """
    if on_unmeasurable == "skip":
        return skipped(verdict.gate, f"unmeasurable with this generator ({why}); skipped by policy")
    return dataclasses.replace(
        verdict,
        status="unmeasurable",
        message=f"{verdict.gate}: unmeasurable with this generator ({why}); this fails the run "
        "(editability.on_unmeasurable: skip would skip it)",
    )


def evaluate(
    gates: GatesSection,
    result: AuditResult,
    protected: Sequence[str] = (),
    on_unmeasurable: OnUnmeasurable = "fail",
) -> tuple[GateVerdict, ...]:
    """Every configured threshold of `gates` checked against `result` (regressions aside)."""
    return tuple(_verdicts(gates, result, protected, on_unmeasurable))


def _min_expression(result: AuditResult) -> str:
    return "the minimum" if result.editability is None else f"{result.editability.min_expression:g}"


def why_unmeasurable(result: AuditResult, name: str) -> str:
    """The editability figure that made `name` unmeasurable, as a clause."""
    assert result.editability is not None
    e = result.editability.of(name).expression
    return f"expression rate {e.value:.3g} < {result.editability.min_expression:g}"


def _verdicts(
    gates: GatesSection,
    result: AuditResult,
    protected: Sequence[str],
    on_unmeasurable: OnUnmeasurable,
) -> Iterable[GateVerdict]:
    sens = result.sensitivity
    if (sdar := gates.sdar) is not None:
        figure = sens.sdar_s if sdar.on == "s" else sens.sdar_h
        verdict = check_max(f"sdar({sdar.on})", figure, sdar.max, sdar.use_confidence)
        if all(a in sens.unmeasurable for a in sens.attributes):  # no spread to gate
            why = f"no histogram attribute has an expression rate >= {_min_expression(result)}"
            verdict = unmeasurable(verdict, why, on_unmeasurable)
        yield verdict
    # Every per-attribute gate, in the table's order (report_schema.per_attribute).
    for row in PER_ATTRIBUTE:
        if row.gate is None:
            continue
        g = getattr(gates, row.gate)
        if g is None or getattr(g, "normalised", False) != row.normalised:
            continue
        block = result.block(row.block)
        if block is None:
            yield skipped(row.gate, row.missing)
            continue
        assert row.verdict is not None
        values = getattr(block, row.values)
        yield from _per_attribute(
            row.verdict, g, values, result, protected, on_unmeasurable, block.attributes
        )
    if (clean := gates.clean_accuracy) is not None:
        yield check_min("clean_accuracy", result.clean_accuracy, clean.min, clean.use_confidence)
    if (recon := gates.reconstruction_accuracy) is not None:
        yield check_min(
            "reconstruction_accuracy",
            result.reconstruction_accuracy,
            recon.min,
            recon.use_confidence,
        )
    if (asr_gate := gates.attack_success_rate) is not None:
        for name, limit in asr_gate.max.items():
            gate = f"attack_success_rate[{name}]"
            if name not in result.attacks:
                yield skipped(gate, "this attack was not run")
            elif result.attacks[name].attack_success_rate.n == 0:
                yield skipped(gate, "no probe was right on x0, so there was nothing to attack")
            else:
                asr = result.attacks[name].attack_success_rate
                yield check_max(gate, asr, limit, asr_gate.use_confidence)
    if (robust := gates.robust_accuracy) is not None:
        for name, limit in robust.min.items():
            gate = f"robust_accuracy[{name}]"
            if name not in result.attacks:
                yield skipped(gate, "this attack was not run")
            else:
                acc = result.attacks[name].robust_accuracy
                yield check_min(gate, acc, limit, robust.use_confidence)
    if (psnr := gates.psnr) is not None:
        yield check_min(
            f"psnr[{result.main_attack}]", result.main.psnr_x0, psnr.min, psnr.use_confidence
        )


def _per_attribute(
    label: str,
    g: SensitivityGate
    | AttributeEffectGate
    | PathShareGate
    | WeightedSensitivityGate
    | FlipRateGate,
    values: Sequence[Estimate],
    result: AuditResult,
    protected: Sequence[str],
    on_unmeasurable: OnUnmeasurable,
    attributes: Sequence[str],
) -> Iterable[GateVerdict]:
    """One ceiling per named attribute; values are aligned with `attributes`, the block's own.

    An attribute the generator cannot draw gets an `unmeasurable` verdict (or a skip), never a
    pass: h is not defined for it, and its s or effect says nothing about the target.
    """
    sens = result.sensitivity
    aligned = tuple(attributes)
    which = g.attributes
    names = aligned if which == "all" else protected if which == "protected" else which
    normalised = isinstance(g, SensitivityGate) and g.normalised
    for name in names:
        gate = f"{label}[{name}]"
        if name in sens.unmeasurable and name in aligned:
            why = why_unmeasurable(result, name)
            verdict = (
                skipped(gate, "")
                if normalised
                else check_max(gate, values[aligned.index(name)], g.max, g.use_confidence)
            )
            yield unmeasurable(verdict, why, on_unmeasurable)
        elif name in aligned:
            yield check_max(gate, values[aligned.index(name)], g.max, g.use_confidence)
        elif name in sens.excluded:
            yield skipped(gate, "frozen in this audit (radius 0), so it never moves")
        elif name in sens.attributes:
            yield skipped(gate, "its flip changes the label too, so it is not a shortcut")
        else:  # a typo in the policy must not turn into a silent pass
            raise ConfigError(
                f"policy gates {label} of {name!r}, which the generator does not have; "
                f"use one of {', '.join(sens.attributes + sens.excluded)}"
            )


def onnx_verdicts(
    gates: GatesSection, onnx: OnnxResult | None, why_missing: str = "no --onnx model given"
) -> tuple[GateVerdict, ...]:
    """The policy's ONNX gates on an ONNX check; skipped (with the reason) when none was run."""
    out: list[GateVerdict] = []
    if gates.onnx_clean_accuracy is not None:
        g = gates.onnx_clean_accuracy
        if onnx is None:
            out.append(skipped("onnx_clean_accuracy", why_missing))
        else:
            out.append(
                check_min("onnx_clean_accuracy", onnx.clean_accuracy, g.min, g.use_confidence)
            )
    if gates.onnx_parity is not None:
        p = gates.onnx_parity
        parity = None if onnx is None else onnx.parity
        if parity is None:
            reason = why_missing if onnx is None else "no torch target given to compare with"
            out.append(skipped("onnx_parity", reason))
        else:
            if p.max_abs_diff is not None:
                d = parity.max_abs_diff  # a maximum over probes: no interval to speak of
                exact = Estimate(d, d, d, parity.agreement.n, parity.agreement.level, "")
                out.append(check_max("onnx_parity.max_abs_diff", exact, p.max_abs_diff, False))
            if p.min_agreement is not None:
                out.append(
                    check_min("onnx_parity.agreement", parity.agreement, p.min_agreement, False)
                )
    return tuple(out)


def passed(verdicts: Iterable[GateVerdict]) -> bool:
    """The run passes when no gate failed or was unmeasurable (skipped gates do not fail it)."""
    return all(v.status not in FAILING for v in verdicts)
