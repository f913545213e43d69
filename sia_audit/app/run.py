"""The `run` use case without the CLI: load, audit (in one process or as one rank of many),
and gate; the reports are written by the caller."""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

from sia_audit.app.inputs import Loaded, bootstrap_config, load
from sia_audit.audit import (
    Progress,
    audit,
    audit_batches,
    check_editability,
    measure,
    plan_batches,
)
from sia_audit.audit.shared_flips import flip_outcomes, loop_config, with_flips
from sia_audit.distributed import Ranks, Session, rank_device, session
from sia_audit.errors import SiaAuditError
from sia_audit.formats import pdf
from sia_audit.formats.interface import Format
from sia_audit.formats.registry import FORMATS
from sia_audit.fsutil import check_writable_folder, sha256_of
from sia_audit.gates.flags import DEFAULT_RECONSTRUCTION_FLOOR, validity_flags
from sia_audit.gates.regression import (
    ProbeTable,
    check_comparable,
    regression_verdicts,
    table_from_result,
)
from sia_audit.gates.thresholds import GateVerdict, evaluate, onnx_verdicts, passed, skipped
from sia_audit.onnx.check import check_onnx
from sia_audit.onnx.runtime import import_onnxruntime
from sia_audit.policy import load_policy
from sia_audit.policy.models import Policy
from sia_audit.results import AuditResult, RunOutcome


def run(
    target_source: str,
    policy: Policy,
    policy_path: Path,
    *,
    device: str = "auto",
    batch_size: int | None = None,
    allow_code: bool = False,
    baseline: Path | None = None,
    onnx: Path | None = None,
    progress: Progress | None = None,
    loaded_hook: Callable[[], None] | None = None,
) -> RunOutcome:
    """Load everything the policy names, audit the target, and evaluate the gates.

    `loaded_hook` is called once everything is loaded and checked, before the attack (the
    CLI shows its progress bar from then on, so a bad input prints its one line alone)."""
    loaded = load(
        target_source,
        policy,
        policy_path,
        device=device,
        batch_size=batch_size,
        allow_code=allow_code,
        baseline=baseline,
        onnx=onnx,
    )
    if loaded_hook is not None:
        loaded_hook()
    result = audit(
        loaded.probes,
        loaded.generator,
        loaded.target,
        loaded.config,
        progress,
        classifier=loaded.classifier,
        cache=loaded.cache,
    )
    return conclude(loaded, result)


def run_sharded(
    loaded: Loaded,
    session: Session,
    progress: Progress | None = None,
) -> RunOutcome | None:
    """This rank's share of a distributed run; the outcome on rank 0, None on the others.

    The ranks must have agreed on their inputs first (`Session.agree`, `same_everywhere`).
    Every rank attacks its batches; rank 0 gathers the numbers of all batches and measures
    them as one process would, so the figures are those of a single-process run.
    """
    ranks = session.ranks
    p, config = loaded.probes, loaded.config
    t0 = time.perf_counter()
    mine = plan_batches(len(p), config.batch_size, ranks.rank, ranks.world)
    # With an editability check the flips are read from its decodes (rank 0, below).
    k = loaded.generator.num_attrs
    outcomes = flip_outcomes(p, loaded.target, loaded.classifier, config, k)
    loop = loop_config(config, outcomes)
    numbers = audit_batches(p, loaded.generator, loaded.target, loop, mine, progress)
    parts = session.gather(numbers)
    if parts is None:
        return None
    every = [batch for part in parts for batch in part]
    attack_seconds = time.perf_counter() - t0
    # The editability check is cheap: rank 0 alone runs it, once, and reads the flips there.
    editability = check_editability(
        p, loaded.generator, loaded.classifier, config, see=outcomes, cache=loaded.cache
    )
    every = with_flips(every, outcomes, config.attack.variant)
    result = measure(
        p,
        loaded.generator,
        loaded.target,
        config,
        every,
        attack_seconds,
        ranks.world,
        editability,
    )
    return conclude(loaded, result)


def conclude(loaded: Loaded, result: AuditResult) -> RunOutcome:
    """The gates on an audit: thresholds, the ONNX check (after the attack) and regressions."""
    policy = loaded.policy
    verdicts = evaluate(policy.gates, result, policy.protected, policy.editability.on_unmeasurable)
    onnx_result = None
    if loaded.onnx is not None and loaded.onnx_target is not None:
        onnx_result = check_onnx(
            loaded.onnx_target,
            loaded.probes,
            torch_target=loaded.target,
            torch_source=loaded.target_source,
            bootstrap=bootstrap_config(policy),
            batch_size=loaded.config.batch_size,
            sha256=sha256_of(loaded.onnx),
        )
    verdicts += onnx_verdicts(policy.gates, onnx_result)
    inputs = loaded.inputs()
    head = table_from_result(result, inputs)
    verdicts += regressions(policy, loaded.base, head, str(loaded.baseline))
    notes: tuple[str, ...] = tuple(loaded.cache.notes) if loaded.cache is not None else ()
    if loaded.baseline is not None and policy.gates.regression is None:
        notes += (
            f"--baseline {loaded.baseline} was not used: the policy has no regression gates "
            "(add gates.regression to compare against it)",
        )
    gate = policy.gates.reconstruction_accuracy
    flags = validity_flags(
        result,
        loaded.target.task,
        policy.flags.levels(),
        gate.min if gate is not None else DEFAULT_RECONSTRUCTION_FLOOR,
    )
    wall = time.perf_counter() - loaded.started
    return RunOutcome(
        result,
        verdicts,
        passed(verdicts) and not any(f.fails for f in flags),
        inputs,
        wall,
        loaded.load_seconds,
        tuple(policy.protected),
        onnx_result,
        notes,
        flags,
    )


def regressions(
    policy: Policy, base: ProbeTable | None, head: ProbeTable, where: str
) -> tuple[GateVerdict, ...]:
    """The policy's regression gates against a baseline, or a skip saying what is missing."""
    section = policy.gates.regression
    if section is None:
        return ()
    if base is None:
        return (skipped("regression", "no --baseline report given"),)
    check_comparable(base, head, where)
    return regression_verdicts(
        section,
        base,
        head,
        policy.protected,
        bootstrap_config(policy),
        policy.editability.on_unmeasurable,
    )


def preflight(chosen: tuple[Format, ...], onnx: Path | None, *, no_pdf: str = pdf.SKIP_PDF) -> None:
    """What the run needs from the machine, checked in seconds before the audit, not after it:
    a PDF renderer (WeasyPrint and the system's Pango) when report.pdf is chosen, and ONNX
    Runtime (an extra) for --onnx. `no_pdf` says how to do without the PDF."""
    if FORMATS["pdf"] in chosen:
        pdf.preflight(no_pdf)
    if onnx is not None:
        import_onnxruntime()


# A progress bar for `total` probes, shown or not: (total, show) -> a context manager whose
# value has update(n). The command passes click's; None runs silently.
ProgressBar = Callable[[int, bool], AbstractContextManager[Any]]


def run_distributed(
    ranks: Ranks,
    timeout: float,
    *,
    target: str,
    policy_path: Path,
    out: Path,
    device: str,
    chosen: tuple[Format, ...],
    baseline: Path | None,
    onnx: Path | None,
    progress_bar: ProgressBar,
    show_progress: bool = True,
    **options: Any,  # batch_size and allow_code, as `load` takes them
) -> RunOutcome | None:
    """One rank of a torchrun run: every rank loads and attacks its shard; rank 0 measures.

    Ranks agree after loading, so a bad input on any of them ends all of them with exit 2
    before the attack. Returns the outcome on rank 0 (which writes the reports) and None on
    the others, which are done once rank 0 has their numbers.
    """
    with session(ranks, device, timeout) as s:
        loaded, error = None, None
        try:
            if ranks.writer:  # the one rank that writes the reports (and checks the ONNX export)
                preflight(chosen, onnx)
            policy = load_policy(policy_path)
            if ranks.writer:
                check_writable_folder(out)
            loaded = load(
                target,
                policy,
                policy_path,
                device=rank_device(device, ranks),
                baseline=baseline if ranks.writer else None,
                onnx=onnx if ranks.writer else None,
                **options,
            )
        except SiaAuditError as exc:
            error = exc
        s.agree(error)
        assert loaded is not None
        s.same_everywhere("set of inputs", loaded.fingerprint())
        share = len(plan_batches(len(loaded.probes), loaded.config.batch_size, 0, ranks.world))
        total = min(len(loaded.probes), share * loaded.config.batch_size)
        with progress_bar(total, show_progress and ranks.writer) as bar:
            return run_sharded(loaded, s, progress=lambda stage, n: bar.update(n))
