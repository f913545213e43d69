"""The per-attribute figures an audit derives from the main attack's per-probe data, one row each.

`measure` computes every row and the report saves each under `figures.BLOCK` (null where the
audit cannot have it: no attribute effects, or an attack that raised no loss). What reads a
saved figure back, shows it or gates on it reads report_schema.per_attribute, by the same block
name; the s histogram (with h and SDAR) and the single-attribute runs are measured apart.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from torch import Tensor

from sia_audit import defaults
from sia_audit.generators.flips import label_changers, label_partners
from sia_audit.metrics import BootstrapConfig
from sia_audit.metrics import attribute_effect as effect_estimates
from sia_audit.metrics.counterfactual import counterfactual_flips, toward_positive
from sia_audit.metrics.editability import Editability
from sia_audit.metrics.estimate import EmptyMetricError
from sia_audit.metrics.path import path_attribution
from sia_audit.metrics.weighted import weighted_sensitivity
from sia_audit.results import ProbeData


@dataclass(frozen=True)
class Inputs:
    """What every row needs besides the per-probe data."""

    names: tuple[str, ...]  # the generator's attributes
    included: list[bool]  # per attribute: not frozen (the histogram's attributes)
    frozen: tuple[str, ...]
    config: BootstrapConfig
    # Per attribute: how far its flip moves the attribute classifier's probability of the
    # label, on average over the probes (the largest over frozen attributes); empty without an
    # editability check.
    label_leak: Mapping[str, float] = field(default_factory=dict)
    # A binary target's truth per probe (1: the positive class), for the push; None otherwise.
    positive: Tensor | None = None


@dataclass(frozen=True)
class Row:
    """One figure: its block in report.json and how it is computed (None: not this audit)."""

    block: str
    compute: Callable[[ProbeData, Inputs], Any | None]


def _effect(p: ProbeData, i: Inputs) -> Any | None:
    if p.effects is None:
        return None
    return effect_estimates(p.effects, i.included, names=i.names, config=i.config)


def _path(p: ProbeData, i: Inputs) -> Any | None:
    if p.path_a is None or p.path_x is None:
        return None
    try:
        return path_attribution(p.path_a, p.path_x, i.included, names=i.names, config=i.config)
    except EmptyMetricError:  # the attack did not raise the loss: no shares of nothing
        return None


def _weighted(p: ProbeData, i: Inputs) -> Any | None:
    if p.effects is None or p.delta is None:
        return None
    rise = p.loss_adv - p.loss_start
    try:
        return weighted_sensitivity(
            p.delta, p.effects, rise, i.included, names=i.names, config=i.config
        )
    except EmptyMetricError:  # the attack did not raise the loss: no shares to weigh by
        return None


def _flips(p: ProbeData, i: Inputs) -> Any | None:
    if p.flip_loss is None or p.flip_changed is None:
        return None
    partners = label_partners(i.names, i.frozen)
    # label_leak holds no frozen attribute; a partner is left out already
    leaky = {
        a: v for a, v in i.label_leak.items() if v > defaults.MAX_LABEL_LEAK and a not in partners
    }
    changers = label_changers(i.names, i.frozen, leaky)  # their flip changes the label too
    kept = [k and a not in changers for a, k in zip(i.names, i.included, strict=True)]
    toward = None
    if i.positive is not None and p.a0 is not None:
        toward = toward_positive(p.flip_loss, p.a0, i.positive)
    return counterfactual_flips(
        p.flip_loss,
        p.flip_changed,
        kept,
        names=i.names,
        config=i.config,
        label_leak=leaky,
        toward=toward,
    )


def label_leak(editability: Editability | None, frozen: Sequence[str]) -> dict[str, float]:
    """Per attribute, the largest mean move of a frozen attribute's classifier probability that
    its flip causes (empty without an editability check or frozen attributes)."""
    if editability is None or not frozen:
        return {}
    return {
        a.attribute: max(a.leaks_to.get(f, 0.0) for f in frozen)
        for a in editability.attributes
        if a.attribute not in frozen
    }


ROWS: tuple[Row, ...] = (
    Row("attribute_effect", _effect),
    Row("path_attribution", _path),
    Row("weighted_sensitivity", _weighted),
    Row("counterfactual_flips", _flips),
)


def attribute_figures(
    main: ProbeData,
    names: Sequence[str],
    included: Sequence[bool],
    frozen: Sequence[str],
    config: BootstrapConfig,
    editability: Editability | None = None,
    positive: Tensor | None = None,
) -> dict[str, Any | None]:
    """Every row's figure for the main attack's per-probe data, by block name (`positive`: a
    binary target's truth per probe, for the push)."""
    inputs = Inputs(
        tuple(names),
        list(included),
        tuple(frozen),
        config,
        label_leak(editability, frozen),
        positive,
    )
    return {row.block: row.compute(main, inputs) for row in ROWS}
