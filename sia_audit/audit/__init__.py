"""The audit core: run SIA and its baselines over a probe set in batches, then measure.

`audit(probes, generator, target, config)` is the whole pipeline a notebook, a test or the CLI
calls: probes -> generator -> target -> attacks -> metrics. It knows nothing of the CLI or the
report formats. Memory is bounded by the batch size: images live only for their batch; only
per-probe numbers and a few gallery images are kept.

- `config`: AuditConfig, the device, the attribute radii, the batch plan;
- `loop`: the one batch loop (`attack_batches`) and the audit's per-batch numbers;
- `measure`: every figure from the numbers of all batches;
- `gallery`: the adversaries a report shows.
"""

from __future__ import annotations

import time

from sia_audit.audit.config import (
    AuditConfig,
    Batches,
    Progress,
    attribute_radii,
    plan_batches,
    resolve_device,
)
from sia_audit.audit.loop import (
    BatchAttacks,
    BatchNumbers,
    Setup,
    attack_batches,
    audit_batches,
    setup,
)
from sia_audit.audit.measure import TimedEditability, measure
from sia_audit.audit.shared_flips import FlipOutcomes, flip_outcomes, loop_config, with_flips
from sia_audit.generators.classifiers import AttributeClassifier
from sia_audit.generators.editability import measure_editability
from sia_audit.generators.interface import Generator
from sia_audit.probes.interface import ProbeSet
from sia_audit.results import AuditResult
from sia_audit.targets.contract import Target


def audit(
    probes: ProbeSet,
    generator: Generator,
    target: Target,
    config: AuditConfig | None = None,
    progress: Progress | None = None,
    classifier: AttributeClassifier | None = None,
) -> AuditResult:
    """Attack every probe with the main attack and the baselines, then compute every figure.

    With an attribute `classifier`, the generator's editability is measured on the probes
    first, and attributes it cannot draw are marked unmeasurable (left out of h and SDAR).
    """
    config = config or AuditConfig()
    # The counterfactual flips read the editability check's decodes when it runs.
    outcomes = flip_outcomes(probes, target, classifier, config, generator.num_attrs)
    editability = check_editability(probes, generator, classifier, config, see=outcomes)
    t0 = time.perf_counter()
    loop = loop_config(config, outcomes)
    numbers = audit_batches(probes, generator, target, loop, progress=progress)
    numbers = with_flips(numbers, outcomes, config.attack.variant)
    return measure(
        probes, generator, target, config, numbers, time.perf_counter() - t0, 1, editability
    )


def check_editability(
    probes: ProbeSet,
    generator: Generator,
    classifier: AttributeClassifier | None,
    config: AuditConfig,
    see: FlipOutcomes | None = None,
) -> TimedEditability | None:
    """The generator's editability on the audit's probes, or None without a classifier;
    `see` records the target's outcomes on its decodes (the counterfactual flips)."""
    if classifier is None:
        return None
    t0 = time.perf_counter()
    result = measure_editability(
        probes,
        generator,
        classifier,
        batch_size=config.batch_size,
        device=resolve_device(config.device),
        min_expression=config.min_expression,
        config=config.bootstrap,
        see=see,
    )
    return TimedEditability(result, time.perf_counter() - t0)


__all__ = [
    "AuditConfig",
    "BatchAttacks",
    "BatchNumbers",
    "Batches",
    "Progress",
    "Setup",
    "TimedEditability",
    "attack_batches",
    "attribute_radii",
    "audit",
    "audit_batches",
    "check_editability",
    "measure",
    "plan_batches",
    "resolve_device",
    "setup",
]
