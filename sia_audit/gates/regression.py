"""Regression gates: a head audit against a baseline report, paired probe by probe.

A baseline only compares when it was made on the same probe set, with the same generator and
the same attack configuration (checked by hashes and the recorded config); otherwise the
comparison is refused with the differing fields named.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from sia_audit import report_schema
from sia_audit.errors import DataError
from sia_audit.gates.comparable import differing_provenance, refuse_if
from sia_audit.gates.numerics import allowance, arithmetic_differences
from sia_audit.gates.rise import Rise, check_fall, check_rise
from sia_audit.gates.thresholds import GateVerdict, OnUnmeasurable, skipped, unmeasurable
from sia_audit.generators.flips import label_partners
from sia_audit.metrics import (
    BootstrapConfig,
    EmptyMetricError,
    attack_success_rate_difference,
    paired_mean_difference,
)
from sia_audit.metrics.bootstrap import (
    Replicates,
    Statistic,
    paired_bootstrap,
    simultaneous_margin,
)
from sia_audit.metrics.estimate import Estimate
from sia_audit.metrics.sensitivity import sensitivity_difference
from sia_audit.metrics.weighted import WeightedInputs
from sia_audit.metrics.weighted import statistic as weighted_statistic
from sia_audit.policy.gates import RegressionSection
from sia_audit.report_schema import ReportRecord, SchemaError
from sia_audit.results import AuditResult


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
    # Counterfactual flips: the loss change (N, K) and right/wrong changes (N, K) when each
    # attribute is flipped in G's input; None in reports written before they were measured.
    flip_loss: Tensor | None = None
    flip_changed: Tensor | None = None
    # The attributes whose flip redraws the label (the flips' `label_leak`): the report's flip
    # figures leave them out. The regression gates compare them, paired by probe: a change in
    # how a model follows such a flip is a change of the model (docs/validity.md, round 11).
    leaky: tuple[str, ...] = ()


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
        leaky = tuple(getattr(record.block("counterfactual_flips"), "label_leak", {}))
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
        flip_loss=None if p.flip_loss is None else torch.tensor(p.flip_loss, dtype=torch.float64),
        flip_changed=None
        if p.flip_changed is None
        else torch.tensor(p.flip_changed, dtype=torch.bool),
        leaky=leaky,
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
        flip_loss=None if main.flip_loss is None else main.flip_loss.double(),
        flip_changed=None if main.flip_changed is None else main.flip_changed.bool(),
        leaky=tuple(result.flips.label_leak) if result.flips is not None else (),
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


@dataclass(frozen=True)
class AttributeFigure:
    """A per-attribute figure a regression can gate: where its per-probe values come from.

    `values(table)` is (N, C) per probe (None when the report lacks them: `missing` says what
    is missing); `statistic` maps resampled means (R, C) to the figure per attribute (R, K)
    (None: the means themselves, C = K). `flips` figures leave out the label's exclusive
    partners, whose flip changes the label by definition (`label_partners`).
    """

    name: str  # in gate names: regression NAME[attribute]
    allowance: str  # the RegressionSection field holding its allowance
    values: Callable[[ProbeTable], Tensor | None]
    missing: str
    statistic: Statistic | None = None
    flips: bool = False
    needs_rise: bool = False  # a share of the attack's loss increase: none without one
    # The RegressionSection field holding an allowance relative to the baseline's own value
    # (a figure that is a mean of its per-probe values only).
    relative: str | None = None
    # The RegressionSection field holding a cap on each probe's value before the mean (a
    # clipped mean: a few probes with very large values cannot widen the interval at will).
    cap: str | None = None
    per_probe: str = "value"  # what one probe's value is, in words


def _w_values(t: ProbeTable) -> Tensor | None:
    x = t.weighted
    if x is None:
        return None
    return torch.cat([x.delta.abs(), x.effects, x.rise[:, None]], dim=1).double()


FIGURES = (  # the order the verdicts list them in
    AttributeFigure(
        "w",
        "weighted_increase",
        _w_values,
        "per-probe attribute effects",
        weighted_statistic,
        needs_rise=True,
    ),
    AttributeFigure("s", "sensitivity_increase", lambda t: t.delta.abs().double(), ""),
    AttributeFigure(
        "flip_rate",
        "flip_rate_increase",
        lambda t: None if t.flip_changed is None else t.flip_changed.double(),
        "per-probe counterfactual flips",
        flips=True,
    ),
    AttributeFigure(
        "flip_loss",
        "flip_loss_increase",
        lambda t: None if t.flip_loss is None else t.flip_loss.abs().double(),
        "per-probe counterfactual flips",
        flips=True,
        relative="flip_loss_relative_increase",
        cap="flip_loss_cap",
        per_probe="|loss change|",
    ),
)


def gated_attributes(
    section: RegressionSection, table: ProbeTable, protected: Sequence[str]
) -> tuple[str, ...]:
    """The attributes a regression section names: all of the head's, the protected, or a list."""
    which = section.attributes
    if which == "all":
        return tuple(a for a in table.attributes if a not in table.frozen)
    return tuple(protected) if which == "protected" else tuple(which)


def regression_verdicts(
    section: RegressionSection,
    base: ProbeTable,
    head: ProbeTable,
    protected: Sequence[str],
    config: BootstrapConfig,
    on_unmeasurable: OnUnmeasurable = "fail",
) -> tuple[GateVerdict, ...]:
    """Every configured allowance checked on the paired change head - baseline (gates.rise)."""
    out: list[GateVerdict] = []
    ids = {"base_ids": base.names, "head_ids": head.names}
    uc = section.use_confidence
    arithmetic = arithmetic_differences(base.provenance, head.provenance)
    out += _per_attribute_verdicts(
        section, base, head, gated_attributes(section, head, protected), config, arithmetic,
        on_unmeasurable,
    )  # fmt: skip
    if section.sdar_increase is not None:
        included = [a not in head.frozen for a in head.attributes]
        diff = sensitivity_difference(
            base.delta, head.delta, included, names=head.attributes, config=config,
            unmeasurable=head.unmeasurable, **ids,
        )  # fmt: skip
        limit, note = allowance("sdar_s", section.sdar_increase, arithmetic)
        verdict = check_rise("regression sdar(s)", _one(diff.sdar_s), limit, uc, note)
        if not diff.has_histogram:
            why = "the generator can draw no histogram attribute, so there is no SDAR"
            verdict = unmeasurable(verdict, why, on_unmeasurable)
        out.append(verdict)
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
            out.append(check_rise(gate, _one(e), section.attack_success_rate_increase, uc))
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
        gate = "regression clean_accuracy"
        out.append(check_fall(gate, _one(e), section.clean_accuracy_decrease, uc))
    return tuple(out)


def _one(e: Estimate) -> Rise:
    return Rise(e.value, e.low, e.high)


def _per_attribute_verdicts(
    section: RegressionSection,
    base: ProbeTable,
    head: ProbeTable,
    names: Sequence[str],
    config: BootstrapConfig,
    arithmetic: list[str],
    on_unmeasurable: OnUnmeasurable,
) -> list[GateVerdict]:
    """The per-attribute figures' rises, tested together: one simultaneous family."""
    partners = set(label_partners(head.attributes, head.frozen))
    points: list[Tensor] = []
    reps: list[Tensor] = []
    out: list[GateVerdict] = []
    tested: list[tuple[AttributeFigure, str]] = []
    levels: list[Tensor] = []  # the baseline's own value of each tested figure and attribute
    for fig in FIGURES:
        if _allowances(section, fig) is None:
            continue
        usable = []
        for name in names:
            gate = f"regression {fig.name}[{name}]"
            if name not in head.attributes or name in head.frozen:
                out.append(skipped(gate, "frozen or not a generator attribute"))
            elif fig.flips and name in partners:
                out.append(skipped(gate, "its flip changes the label too"))
            elif name in head.unmeasurable:
                # `all` means every measurable attribute; a named one must be measured.
                verdict = skipped(gate, "")
                out.append(
                    skipped(gate, "the generator cannot draw it: not compared")
                    if section.attributes == "all"
                    else unmeasurable(verdict, "the generator cannot draw it", on_unmeasurable)
                )
            else:
                usable.append(name)
        rep, why = _paired(section, fig, base, head, config)
        if rep is None:
            out += [skipped(f"regression {fig.name}[{name}]", why) for name in usable]
            continue
        cols = [head.attributes.index(name) for name in usable]
        points.append(rep.value[cols])
        reps.append(rep.reps[:, cols] if rep.reps is not None else rep.value[cols][None])
        # Only a figure with a relative allowance reads the baseline's own level (a mean figure)
        base_values = _values(section, fig, base) if fig.relative else None
        own = base_values.mean(dim=0) if base_values is not None else rep.value.new_zeros(
            rep.value.shape)  # fmt: skip
        levels.append(own[cols])
        tested += [(fig, name) for name in usable]
    if not tested:
        return out
    point, rep_all = torch.cat(points), torch.cat(reps, dim=1)
    level = torch.cat(levels)
    margin, _ = simultaneous_margin(point, rep_all, (1 + config.level) / 2)
    for j, (fig, name) in enumerate(tested):
        limit, note = _limit(section, fig, float(level[j]), arithmetic)
        value, m = float(point[j]), float(margin[j])
        rise = Rise(value, value - m, value + m, len(tested))
        out.append(check_rise(f"regression {fig.name}[{name}]", rise, limit,
                              section.use_confidence, note))  # fmt: skip
    return out


def _allowances(section: RegressionSection, fig: AttributeFigure) -> tuple[float, float] | None:
    """A figure's (absolute, relative) allowances; None when the section does not gate it."""
    absolute = getattr(section, fig.allowance)
    relative = getattr(section, fig.relative) if fig.relative else None
    if absolute is None and relative is None:
        return None
    return absolute or 0.0, relative or 0.0


def _limit(
    section: RegressionSection, fig: AttributeFigure, level: float, arithmetic: list[str]
) -> tuple[float, str]:
    """The allowance one attribute's rise is checked against, and a note saying how it was set:
    the larger of the absolute allowance (raised to the rounding floor where the arithmetic
    differs) and the relative one times the baseline's own value `level`."""
    both = _allowances(section, fig)
    assert both is not None
    limit, note = allowance(fig.name, both[0], arithmetic)
    cap = _cap(section, fig)
    said = (
        [f"the larger of {limit:g} and {both[1]:g} x the baseline's {level:.4g}"] if both[1] else []
    )
    said += [] if cap is None else [f"each probe's {fig.per_probe} counted up to {cap:g}"]
    told = f" ({'; '.join(said)})" if said else ""
    return (max(limit, both[1] * max(level, 0.0)) if both[1] else limit), told + note


def _cap(section: RegressionSection, fig: AttributeFigure) -> float | None:
    """The cap the section sets on each probe's value of the figure; None: none."""
    return getattr(section, fig.cap) if fig.cap else None


def _values(section: RegressionSection, fig: AttributeFigure, table: ProbeTable) -> Tensor | None:
    """A figure's per-probe values (N, C), each capped where the section caps the figure."""
    values = fig.values(table)
    cap = _cap(section, fig)
    if values is None or cap is None:
        return values
    return values.clamp(max=cap)


def _paired(
    section: RegressionSection,
    fig: AttributeFigure,
    base: ProbeTable,
    head: ProbeTable,
    config: BootstrapConfig,
) -> tuple[Replicates | None, str]:
    """The paired replicates of one figure over every attribute, or None and why."""
    b, h = _values(section, fig, base), _values(section, fig, head)
    if b is None or h is None:
        which = (
            "neither report holds"
            if b is None and h is None
            else (f"the {'baseline' if b is None else 'head'} report holds no")
        )
        return None, (
            f"{which} {fig.missing} (written before reports saved them, or by an attack "
            f"without them); re-run it to compare {fig.name}"
        )
    for side, table in (("baseline", base), ("head", head)):
        x = table.weighted
        if fig.needs_rise and x is not None and x.rise.numel() and float(x.rise.mean()) <= 0:
            return None, f"the {side} attack did not raise the mean loss: it has no w to compare"
    try:
        rep = paired_bootstrap(
            b, h, fig.statistic, config, base_ids=base.names, head_ids=head.names
        )
    except EmptyMetricError as exc:
        return None, str(exc)
    return rep, ""
