"""Everything a run reads before it attacks, loaded and checked so bad input fails first.

A source is `builtin:synthfaces` (sia_audit/sources.py) for the embedded probe set and
generator, otherwise a path. Everything the report's provenance needs (hashes, seeds) is
gathered here.
"""

from __future__ import annotations

import dataclasses
import hashlib
import time
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import torch

from sia_audit import __version__
from sia_audit.audit import AuditConfig, resolve_device
from sia_audit.audit.editability_cache import EditabilityCache, default_folder, key_of
from sia_audit.errors import ConfigError
from sia_audit.fsutil import sha256_of
from sia_audit.gates.comparable import differing_provenance, refuse_if
from sia_audit.gates.regression import ProbeTable, load_report, table_from_report
from sia_audit.generators.checkpoint import load_generator
from sia_audit.generators.classifiers import (
    AttributeClassifier,
    resolve_classifier,
    shipped_classifier_path,
)
from sia_audit.generators.interface import Generator
from sia_audit.metrics import BootstrapConfig
from sia_audit.onnx.runtime import OnnxTarget, load_onnx_target
from sia_audit.policy.gates import PER_ATTRIBUTE_GATES
from sia_audit.policy.models import Policy
from sia_audit.probe_budget import check_probe_memory
from sia_audit.probes.celeba import CelebAProbes, Preprocess
from sia_audit.probes.interface import ProbeSet
from sia_audit.probes.synthetic import SynthProbes
from sia_audit.sources import SYNTHFACES, is_builtin
from sia_audit.targets.contract import Target
from sia_audit.targets.loading import load_target

BUILTIN = SYNTHFACES  # the built-in probes and generator
BUILTIN_GENERATOR = "synthfaces_attgan64.pt"
GENERATOR_PATHS = "the path of a generator (a checkpoint file or an AttGAN-PyTorch folder)"


def generator_path(source: str) -> Path:
    """The checkpoint a generator source names (the shipped one for builtin:synthfaces)."""
    if is_builtin(source, kind="generator source", otherwise=GENERATOR_PATHS):
        return Path(str(resources.files("sia_audit") / "assets" / BUILTIN_GENERATOR))
    return Path(source)


def check_attribute_names(policy: Policy, attr_names: tuple[str, ...]) -> None:
    """Every attribute the policy names must be the generator's: checked before any attack."""
    named = {
        "protected": policy.protected,
        "subpopulations": policy.subpopulations,
        "attack.radii": tuple(policy.attack.radii),
    }
    for gate_name in PER_ATTRIBUTE_GATES:
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
    if is_builtin(p.source, kind="probe source", otherwise="a folder path"):
        return SynthProbes(count=p.count, seed=p.seed, size=p.size)
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
        baselines=policy.pixel_baselines(),
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
    cache: EditabilityCache | None = None  # the editability check kept between runs

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
    cache = editability_cache(target_source, policy, gen_path, classifier, probes, config)
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
        cache,
    )


def editability_cache(
    target_source: str,
    policy: Policy,
    generator_file: Path,
    classifier: AttributeClassifier | None,
    probes: ProbeSet,
    config: AuditConfig,
) -> EditabilityCache | None:
    """The cache entry of this run's editability check, keyed by everything it depends on;
    None when caching is off, there is no check, or the target is not a file to hash."""
    folder = default_folder()
    target_file = Path(target_source)
    if folder is None or classifier is None or not target_file.is_file():
        return None
    named = policy.generator.attribute_classifier
    if named is not None:
        classifier_sha = sha256_of(Path(named))
    elif policy.generator.source == BUILTIN:
        classifier_sha = sha256_of(shipped_classifier_path())
    else:
        classifier_sha = "the generator's own discriminator"  # covered by the generator's hash
    device = resolve_device(config.device)
    b = config.bootstrap
    parts = {
        "sia_audit": __version__,
        "torch": torch.__version__,
        "target_sha256": sha256_of(target_file),
        "target_contract": policy.target.model_dump(mode="json") if policy.target else None,
        "generator_sha256": sha256_of(generator_file),
        "classifier": [classifier.description, classifier_sha],
        "probe_manifest_sha256": probes.manifest_sha256(),
        "probe_images_sha256": _image_files_sha256(probes),
        "min_expression": config.min_expression,
        "bootstrap": [b.resamples, b.seed, b.level],
        "batch_size": config.batch_size,
        "flips": config.flips,
        "device": [device.type, torch.cuda.get_device_name(device) if device.type == "cuda"
                   else torch.backends.cpu.get_cpu_capability()],
        "threads": torch.get_num_threads(),
    }  # fmt: skip
    return EditabilityCache(folder, key_of(parts))


def _image_files_sha256(probes: ProbeSet) -> str | None:
    """The sha256 of every image file a probe set reads (a CelebA-format folder's manifest
    names its images but does not hash their pixels); None for probes rendered on demand."""
    if not isinstance(probes, CelebAProbes):
        return None
    h = hashlib.sha256()
    for name in probes.names:
        h.update(name.encode() + b"\0" + sha256_of(probes.image_dir / name).encode())
    return h.hexdigest()
