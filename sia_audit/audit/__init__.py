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
from sia_audit.audit.editability_cache import EditabilityCache
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
    cache: EditabilityCache | None = None,
) -> AuditResult:
    """Attack every probe with the main attack and the baselines, then compute every figure.

    With an attribute `classifier`, the generator's editability is measured on the probes
    first (or read from `cache`), and attributes it cannot draw are marked unmeasurable (left
    out of h and SDAR).
    """
    config = config or AuditConfig()
    # The counterfactual flips read the editability check's decodes when it runs.
    outcomes = flip_outcomes(probes, target, classifier, config, generator.num_attrs)
    editability = check_editability(
        probes, generator, classifier, config, see=outcomes, cache=cache
    )
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
    cache: EditabilityCache | None = None,
) -> TimedEditability | None:
    """The generator's editability on the audit's probes, or None without a classifier;
    `see` records the target's outcomes on its decodes (the counterfactual flips). With a
    `cache`, a previous run's check of the same inputs is read instead, and a new one kept."""
    if classifier is None:
        return None
    if cache is not None:
        hit = cache.load(len(probes), generator.num_attrs, flips=see is not None)
        if hit is not None:
            if see is not None and hit.flip_loss is not None and hit.flip_correct is not None:
                see.fill(hit.flip_loss, hit.flip_correct)
            return TimedEditability(hit.editability, 0.0)
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
    if cache is not None:
        cache.save(result, *((see.loss, see.correct) if see is not None else (None, None)))
    return TimedEditability(result, time.perf_counter() - t0)


__all__ = [
    "AuditConfig",
    "BatchAttacks",
    "BatchNumbers",
    "Batches",
    "EditabilityCache",
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
