"""Regression gates: a head audit against a baseline report, paired probe by probe.

A baseline only compares when it was made on the same probe set, with the same generator and
the same attack configuration (checked by hashes and the recorded config); otherwise the
comparison is refused with the differing fields named.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from sia_audit import report_schema
from sia_audit.errors import DataError
from sia_audit.gates.numerics import allowance, arithmetic_differences
from sia_audit.gates.thresholds import (
    GateVerdict,
    OnUnmeasurable,
    check_max,
    check_min,
    skipped,
    unmeasurable,
)
from sia_audit.metrics import (
    BootstrapConfig,
    EmptyMetricError,
    attack_success_rate_difference,
    paired_mean_difference,
)
from sia_audit.metrics.estimate import Estimate
from sia_audit.metrics.sensitivity import sensitivity_difference
from sia_audit.metrics.weighted import WeightedInputs, WeightedSensitivity, weighted_difference
from sia_audit.policy.gates import RegressionSection
from sia_audit.report_schema import ReportRecord, SchemaError
from sia_audit.results import AuditResult

# What must match for two audits to be comparable, as recorded in the report's provenance.
COMPARABLE = ("probe_manifest_sha256", "generator_sha256", "attack", "baselines")


@dataclass(frozen=True)
class ProbeTable:
    """The per-probe data of one audit's main attack, as a regression needs it."""

    names: tuple[str, ...]
    attributes: tuple[str, ...]
    frozen: tuple[str, ...]
    delta: Tensor  # (N, K)
    correct_clean: Tensor  # bool (N,)
    correct_adv: Tensor  # bool (N,)
    provenance: Mapping[str, Any]
    unmeasurable: tuple[str, ...] = ()  # attributes the generator could not draw (editability)
    # What w is computed from; None in reports written before they were saved, or without
    # attribute effects.
    weighted: WeightedInputs | None = None


def _weighted_inputs(
    delta: Tensor, effects: object, loss_start: object, loss_adv: object
) -> WeightedInputs | None:
    if effects is None or loss_start is None or loss_adv is None:
        return None
    rise = torch.as_tensor(loss_adv, dtype=torch.float64) - torch.as_tensor(
        loss_start, dtype=torch.float64
    )
    return WeightedInputs(
        delta, torch.as_tensor(effects, dtype=torch.float64).reshape(delta.shape), rise
    )


def load_report(path: Path) -> ReportRecord:
    """A report.json written by sia-audit (any problem is one DataError line)."""
    return report_schema.load(path)


def table_from_report(report: ReportRecord | Mapping[str, Any], where: str) -> ProbeTable:
    """The per-probe table of a saved report, read through its schema."""
    record = report if isinstance(report, ReportRecord) else ReportRecord(report)
    try:
        p = record.probes
        provenance = record.provenance.values
        unmeasurable = record.sensitivity.unmeasurable
    except SchemaError as exc:
        raise DataError(_damaged(where, exc.detail)) from exc
    if p.delta is None:  # written for a pixel main attack, which a policy refuses
        raise DataError(_damaged(where, "probes.delta: null"))
    delta = torch.tensor(p.delta, dtype=torch.float64).reshape(len(p.names), len(p.attributes))
    return ProbeTable(
        names=p.names,
        attributes=p.attributes,
        frozen=p.frozen,
        delta=delta,
        correct_clean=torch.tensor(p.correct_clean, dtype=torch.bool),
        correct_adv=torch.tensor(p.correct_adversary, dtype=torch.bool),
        provenance=provenance,
        unmeasurable=unmeasurable,
        weighted=_weighted_inputs(delta, p.effects, p.loss_start, p.loss_adversary),
    )


def _damaged(where: str, detail: str) -> str:
    return (
        f"{where}: the report's per-probe data is damaged ({detail}); "
        "re-run sia-audit run to write a new report.json"
    )


def table_from_result(result: AuditResult, inputs: Mapping[str, str]) -> ProbeTable:
    main = result.main.probes
    assert main.delta is not None
    return ProbeTable(
        names=main.names,
        attributes=result.attr_names,
        frozen=result.frozen,
        delta=main.delta.double(),
        correct_clean=main.correct_clean,
        correct_adv=main.correct_adv,
        provenance={**result.provenance, **inputs},
        unmeasurable=result.sensitivity.unmeasurable,
        weighted=_weighted_inputs(
            main.delta.double(), main.effects, main.loss_start, main.loss_adv
        ),
    )


def check_comparable(base: ProbeTable, head: ProbeTable, where: str) -> None:
    """Refuse a baseline made on other probes, another generator or another attack."""
    differ = differing_provenance(base.provenance, head.provenance)
    if base.attributes != head.attributes or base.frozen != head.frozen:
        differ.append("attributes")
    if set(base.unmeasurable) != set(head.unmeasurable):
        differ.append("unmeasurable attributes (editability)")
    if set(base.names) != set(head.names):
        differ.append("probe names")
    refuse_if(differ, where)


def differing_provenance(base: Mapping[str, Any], head: Mapping[str, Any]) -> list[str]:
    """The COMPARABLE keys on which two reports' provenance differ."""
    return [key for key in COMPARABLE if _canonical(base.get(key)) != _canonical(head.get(key))]


def refuse_if(differ: Sequence[str], where: str) -> None:
    if differ:
        raise DataError(
            f"baseline {where} is not comparable: {', '.join(differ)} differ; make the baseline "
            "with the same policy (probes, generator, attack) on the base branch"
        )


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True)


def regression_verdicts(
    section: RegressionSection,
    base: ProbeTable,
    head: ProbeTable,
    protected: Sequence[str],
    config: BootstrapConfig,
    on_unmeasurable: OnUnmeasurable = "fail",
) -> tuple[GateVerdict, ...]:
    """Every configured allowance checked on the paired change head - baseline."""
    out: list[GateVerdict] = []
    ids = {"base_ids": base.names, "head_ids": head.names}
    uc = section.use_confidence
    arithmetic = arithmetic_differences(base.provenance, head.provenance)

    def check_rise(gate: str, e: Estimate, figure: str, allowed: float) -> GateVerdict:
        limit, note = allowance(figure, allowed, arithmetic)
        verdict = check_max(gate, e, limit, uc)
        return dataclasses.replace(verdict, message=verdict.message + note) if note else verdict

    def per_attribute(
        figure: str,
        names: Sequence[str],
        attributes: Sequence[str],
        estimates: Sequence[Estimate],
        allowed: float,
        cannot_draw: Sequence[str],
    ) -> list[GateVerdict]:
        verdicts = []
        for name in names:
            gate = f"regression {figure}[{name}]"
            if name not in attributes:
                verdicts.append(skipped(gate, "frozen or not a generator attribute"))
                continue
            verdict = check_rise(gate, estimates[attributes.index(name)], figure, allowed)
            if name in cannot_draw:
                verdict = unmeasurable(
                    verdict, "the generator cannot draw it in either audit", on_unmeasurable
                )
            verdicts.append(verdict)
        return verdicts

    included = [a not in head.frozen for a in head.attributes]
    if section.weighted_increase is not None:  # first, as w leads the threshold gates
        w_diff, reason = _weighted_change(base, head, included, config)
        if w_diff is None:
            kept = [a for a, keep in zip(head.attributes, included, strict=True) if keep]
            out += [skipped(f"regression w[{name}]", reason) for name in protected or kept]
        else:
            out += per_attribute(
                "w",
                protected or w_diff.attributes,
                w_diff.attributes,
                w_diff.w,
                section.weighted_increase,
                head.unmeasurable,
            )
    if section.sdar_increase is not None or section.sensitivity_increase is not None:
        diff = sensitivity_difference(
            base.delta,
            head.delta,
            included,
            names=head.attributes,
            config=config,
            unmeasurable=head.unmeasurable,
            **ids,
        )
        if section.sdar_increase is not None:
            rise = section.sdar_increase
            verdict = check_rise("regression sdar(s)", diff.sdar_s, "sdar_s", rise)
            if not diff.has_histogram:
                why = "the generator can draw no histogram attribute, so there is no SDAR"
                verdict = unmeasurable(verdict, why, on_unmeasurable)
            out.append(verdict)
        if section.sensitivity_increase is not None:
            out += per_attribute(
                "s",
                protected or diff.attributes,
                diff.attributes,
                diff.s,
                section.sensitivity_increase,
                diff.unmeasurable,
            )
    if section.attack_success_rate_increase is not None:
        gate = "regression attack_success_rate"
        try:
            e = attack_success_rate_difference(
                base.correct_clean,
                base.correct_adv,
                head.correct_clean,
                head.correct_adv,
                config=config,
                **ids,
            )
            out.append(check_max(gate, e, section.attack_success_rate_increase, uc))
        except EmptyMetricError:
            out.append(skipped(gate, "a run has no probe right on x0"))
    if section.clean_accuracy_decrease is not None:
        e = paired_mean_difference(
            base.correct_clean.double(),
            head.correct_clean.double(),
            "Change head - baseline, paired by probe, of clean accuracy",
            config,
            **ids,
        )
        out.append(check_min("regression clean_accuracy", e, -section.clean_accuracy_decrease, uc))
    return tuple(out)


def _weighted_change(
    base: ProbeTable, head: ProbeTable, included: Sequence[bool], config: BootstrapConfig
) -> tuple[WeightedSensitivity | None, str]:
    """w's paired change head - baseline per attribute, or None and why there is none."""
    missing = [side for side, t in (("baseline", base), ("head", head)) if t.weighted is None]
    if missing or base.weighted is None or head.weighted is None:
        which = "neither report holds" if len(missing) == 2 else f"the {missing[0]} report holds no"
        return None, (
            f"{which} per-probe attribute effects (written before reports saved them, or by an "
            "attack without them); re-run it to compare w"
        )
    try:
        return weighted_difference(
            base.weighted,
            head.weighted,
            included,
            names=head.attributes,
            config=config,
            base_ids=base.names,
            head_ids=head.names,
        ), ""
    except EmptyMetricError as exc:
        return None, str(exc)
