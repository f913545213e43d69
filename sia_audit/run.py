"""`run` without the CLI: build probes, generator and target from a policy, audit, and gate.

Sources are named in one place: `builtin:synthfaces` for the embedded probe set and generator,
otherwise a path. Everything the report's provenance needs (hashes, seeds) is gathered here.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from sia_audit.audit import (
    AuditConfig,
    audit,
    audit_batches,
    check_editability,
    measure,
    plan_batches,
)
from sia_audit.compare import (
    ProbeTable,
    check_comparable,
    differing_provenance,
    load_report,
    refuse_if,
    regression_verdicts,
    table_from_report,
    table_from_result,
)
from sia_audit.distributed import Session
from sia_audit.errors import ConfigError, UsageError
from sia_audit.gate import GateVerdict, evaluate, onnx_verdicts, passed, skipped
from sia_audit.generators.checkpoint import load_generator
from sia_audit.generators.classifiers import AttributeClassifier, resolve_classifier
from sia_audit.generators.interface import Generator
from sia_audit.metrics import BootstrapConfig
from sia_audit.onnx.check import check_onnx
from sia_audit.onnx.runtime import OnnxTarget, load_onnx_target
from sia_audit.policy.models import Policy
from sia_audit.probe_budget import check_probe_memory
from sia_audit.probes.celeba import CelebAProbes, Preprocess
from sia_audit.probes.interface import ProbeSet
from sia_audit.probes.synthetic import SynthProbes
from sia_audit.results import AuditResult, RunOutcome
from sia_audit.targets.contract import Target
from sia_audit.targets.loading import load_target

BUILTIN = "builtin:synthfaces"
BUILTIN_GENERATOR = "synthfaces_attgan64.pt"


def sha256_of(path: Path) -> str:
    """Hash of a file, or of every file below a folder (sorted by relative path)."""
    h = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for f in files:
        if path.is_dir():
            h.update(str(f.relative_to(path)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()


def generator_path(source: str) -> Path:
    """The checkpoint a generator source names (the shipped one for builtin:synthfaces)."""
    if source == BUILTIN:
        return Path(str(resources.files("sia_audit") / "assets" / BUILTIN_GENERATOR))
    return Path(source)


def check_attribute_names(policy: Policy, attr_names: tuple[str, ...]) -> None:
    """Every attribute the policy names must be the generator's: checked before any attack."""
    named = {
        "protected": policy.protected,
        "subpopulations": policy.subpopulations,
        "attack.radii": tuple(policy.attack.radii),
    }
    for gate_name in ("sensitivity", "attribute_effect"):
        gate = getattr(policy.gates, gate_name)
        if gate is not None and not isinstance(gate.attributes, str):
            named[f"gates.{gate_name}.attributes"] = gate.attributes
    for key, names in named.items():
        unknown = [n for n in names if n not in attr_names]
        if unknown:
            raise ConfigError(
                f"policy {key} names {unknown}, which the generator does not have; "
                f"use some of {', '.join(attr_names)}"
            )


def build_probes(policy: Policy, generator: Generator) -> ProbeSet:
    p = policy.probes
    check_probe_memory(p.count, policy.bootstrap.resamples)  # before anything is allocated
    if p.source == BUILTIN:
        return SynthProbes(count=p.count, seed=p.seed, size=p.size)
    if p.source.startswith("builtin:"):
        raise UsageError(f"unknown probe source {p.source!r}; use {BUILTIN} or a folder path")
    return CelebAProbes(
        Path(p.source),
        generator.attr_names,
        split=p.split,
        first_n=p.count,
        preprocess=Preprocess(p.center_crop, p.size),
    )


def bootstrap_config(policy: Policy) -> BootstrapConfig:
    b = policy.bootstrap
    return BootstrapConfig(resamples=b.resamples, seed=b.seed, level=b.level)


def audit_config(policy: Policy, device: str, batch_size: int | None) -> AuditConfig:
    a = policy.attack
    return AuditConfig(
        attack=a.to_config(),
        baselines=a.baselines,
        batch_size=batch_size or a.batch_size,
        device=device,
        bootstrap=bootstrap_config(policy),
        radii=dict(a.radii),
        subpopulations=policy.subpopulations,
        torch_compile=a.torch_compile,
        cuda_graphs=a.cuda_graphs,
        min_expression=policy.editability.min_expression,
    )


@dataclass(frozen=True)
class Loaded:
    """Everything a run reads before it attacks, checked: the inputs of `audit` and the gates."""

    target_source: str
    policy: Policy
    policy_path: Path
    target: Target
    generator: Generator
    generator_file: Path
    classifier: AttributeClassifier | None  # judges the generator's edits (editability)
    probes: ProbeSet
    config: AuditConfig
    base: ProbeTable | None
    baseline: Path | None
    onnx: Path | None
    onnx_target: OnnxTarget | None
    started: float  # time.perf_counter() when loading began
    load_seconds: float

    def fingerprint(self) -> dict[str, object]:
        """What every rank of a distributed run must share: the same inputs, the same plan."""
        return {
            "target_sha256": self.inputs()["target_sha256"],
            "generator_sha256": sha256_of(self.generator_file),
            "policy_sha256": sha256_of(self.policy_path),
            "probe_manifest_sha256": self.probes.manifest_sha256(),
            "batch_size": self.config.batch_size,
        }

    def inputs(self) -> dict[str, str]:
        target_file = Path(self.target_source)
        return {
            "target": self.target_source,
            "target_sha256": sha256_of(target_file)
            if target_file.exists()
            else "python:" + self.target_source,
            "generator": self.policy.generator.source,
            "generator_sha256": sha256_of(self.generator_file),
            "policy_sha256": sha256_of(self.policy_path),
            "probe_manifest_sha256": self.probes.manifest_sha256(),
        }


def load(
    target_source: str,
    policy: Policy,
    policy_path: Path,
    *,
    device: str = "auto",
    batch_size: int | None = None,
    allow_code: bool = False,
    baseline: Path | None = None,
    onnx: Path | None = None,
) -> Loaded:
    """Load and check everything the policy names, so that a bad input fails before the attack.

    With `onnx`, the ONNX export is loaded and checked here too (a bad file fails in seconds).
    """
    t0 = time.perf_counter()
    base = table_from_report(load_report(baseline), str(baseline)) if baseline else None
    contract = policy.target.contract_overrides() if policy.target else None
    target = load_target(target_source, policy_contract=contract, allow_code=allow_code)
    gen_path = generator_path(policy.generator.source)
    generator = load_generator(gen_path)
    check_attribute_names(policy, generator.attr_names)
    classifier = resolve_classifier(
        policy.generator.attribute_classifier, policy.generator.source, gen_path, generator
    )
    probes = build_probes(policy, generator)
    config = audit_config(policy, device, batch_size)
    onnx_target = (
        load_onnx_target(
            onnx, device=device, fallback_contract=target.contract, policy_contract=contract
        )
        if onnx is not None
        else None
    )
    if base is not None and policy.gates.regression is not None:
        # Everything the comparison needs is known before the attack: fail in seconds, not
        # after minutes of attacking, when the baseline cannot be paired.
        planned = {
            "probe_manifest_sha256": probes.manifest_sha256(),
            "generator_sha256": sha256_of(gen_path),
            "attack": dataclasses.asdict(config.attack),
            "baselines": list(config.baselines),
        }
        refuse_if(differing_provenance(base.provenance, planned), str(baseline))
    return Loaded(
        target_source,
        policy,
        policy_path,
        target,
        generator,
        gen_path,
        classifier,
        probes,
        config,
        base,
        baseline,
        onnx,
        onnx_target,
        t0,
        time.perf_counter() - t0,
    )


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
    progress=None,  # noqa: ANN001 - audit's Progress callback
) -> RunOutcome:
    """Load everything the policy names, audit the target, and evaluate the gates."""
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
    result = audit(
        loaded.probes,
        loaded.generator,
        loaded.target,
        loaded.config,
        progress,
        classifier=loaded.classifier,
    )
    return conclude(loaded, result)


def run_sharded(
    loaded: Loaded,
    session: Session,
    progress=None,  # noqa: ANN001 - audit's Progress callback
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
    numbers = audit_batches(p, loaded.generator, loaded.target, config, mine, progress)
    parts = session.gather(numbers)
    if parts is None:
        return None
    every = [batch for part in parts for batch in part]
    attack_seconds = time.perf_counter() - t0
    # The editability check is cheap and needs no target: rank 0 alone runs it, once.
    editability = check_editability(p, loaded.generator, loaded.classifier, config)
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
    wall = time.perf_counter() - loaded.started
    return RunOutcome(
        result,
        verdicts,
        passed(verdicts),
        inputs,
        wall,
        loaded.load_seconds,
        tuple(policy.protected),
        onnx_result,
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
