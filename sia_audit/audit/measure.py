"""Every figure of an audit from the per-probe numbers of all its batches (docs/design.md)."""

from __future__ import annotations

import dataclasses
import platform
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

import sia_audit
from sia_audit.attacks.config import AttackConfig
from sia_audit.audit.config import AuditConfig, plan_batches
from sia_audit.audit.figures import attribute_figures
from sia_audit.audit.gallery import merge_gallery
from sia_audit.audit.loop import BatchNumbers, setup
from sia_audit.audit.processor import processor
from sia_audit.gates.numerics import FLOORS as ROUNDING_FLOORS
from sia_audit.generators.interface import Generator
from sia_audit.metrics import (
    BootstrapConfig,
    accuracy,
    mean_psnr,
    mean_ssim,
    sensitivity,
    single_attribute_sensitivity,
    subpopulation_sensitivity,
)
from sia_audit.metrics.editability import Editability
from sia_audit.probes.interface import ProbeSet
from sia_audit.results import AttackSummary, AuditResult, GalleryItem, ProbeData
from sia_audit.targets.contract import Target
from sia_audit.targets.tasks.binary import BinaryTask


@dataclass(frozen=True)
class TimedEditability:
    """The editability check and what it cost (reported apart from the figures)."""

    editability: Editability
    seconds: float


def measure(
    probes: ProbeSet,
    generator: Generator,
    target: Target,
    config: AuditConfig,
    numbers: Sequence[BatchNumbers],
    attack_seconds: float,
    ranks: int = 1,
    editability: TimedEditability | None = None,
) -> AuditResult:
    """Every figure of the audit from the numbers of all batches (from one process or `ranks`).

    Attributes the `editability` check found unmeasurable keep their s but leave h and SDAR.
    """
    env = setup(probes, generator, target, config)
    numbers = sorted(numbers, key=lambda b: b.start)
    starts = [b.start for b in numbers]
    if starts != plan_batches(len(probes), config.batch_size):
        raise AssertionError(f"batches {starts} do not cover the {len(probes)} probes once")
    t_metrics = time.perf_counter()
    attr_names = generator.attr_names
    names = config.attacks
    data = {
        name: probe_data(
            probes.names,
            {k: torch.cat([b.attacks[name][k] for b in numbers]) for k in numbers[0].attacks[name]},
        )
        for name in names
    }
    gallery: list[GalleryItem] = []
    for batch in numbers:
        merge_gallery(gallery, batch.gallery, config.gallery)
    main = data[config.attack.variant]
    included = env.eps_a.cpu() > 0
    frozen = tuple(n for n, keep in zip(attr_names, included.tolist(), strict=True) if not keep)
    b = config.bootstrap
    delta, a0 = main.delta, main.a0
    assert delta is not None and a0 is not None
    unmeasurable = () if editability is None else editability.editability.unmeasurable
    unmeasurable = tuple(a for a in unmeasurable if a not in frozen)
    sens = sensitivity(delta, included, names=attr_names, config=b, unmeasurable=unmeasurable)
    subpops = {}
    for attr in config.subpopulations:
        group = a0[:, attr_names.index(attr)] >= 0.5
        subpops[attr] = subpopulation_sensitivity(
            delta,
            group,
            included,
            attribute=attr,
            names=attr_names,
            config=b,
            unmeasurable=unmeasurable,
        )
    figures = attribute_figures(
        main,
        attr_names,
        included.tolist(),
        frozen,
        b,
        None if editability is None else editability.editability,
        positive=target.task.labels(probes).cpu() if isinstance(target.task, BinaryTask) else None,
    )
    single = None
    if config.single_attribute:
        deltas = [_joined([n.single[j] for n in numbers]) for j in range(len(attr_names))]
        single = single_attribute_sensitivity(
            deltas, included, names=attr_names, config=b, unmeasurable=unmeasurable
        )
    attacks = {
        name: summary(name, dataclasses.replace(config.attack, variant=name), d, target, b)
        for name, d in data.items()
    }
    timings = {"attack": attack_seconds, "metrics": time.perf_counter() - t_metrics}
    if editability is not None:
        timings["editability"] = editability.seconds
    clean_acc = accuracy(main.correct_clean.bool(), images="clean images x0", config=b)
    recon_acc = accuracy(main.correct_start.bool(), images="reconstructions G(x0, a0)", config=b)
    provenance = {
        "tool_version": sia_audit.__version__,
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "device": str(env.device),
        # What else decides the last bits of every figure on a CPU: the SIMD kernels torch
        # dispatched to and the threads that split its reductions (docs/figures-travel.md).
        "cpu_capability": torch.backends.cpu.get_cpu_capability(),
        "processor": processor(env.device),
        "threads": torch.get_num_threads(),
        # How far s and SDAR of s can move when only that arithmetic changes; a regression
        # against a baseline made with other arithmetic allows at least this much.
        "rounding_tolerance": dict(ROUNDING_FLOORS),
        "ranks": ranks,
        "probes": len(probes),
        "probe_manifest_sha256": probes.manifest_sha256(),
        "attack": dataclasses.asdict(config.attack),
        "baselines": list(config.baselines),
        "bootstrap": dataclasses.asdict(b),
        "batch_size": config.batch_size,
        "torch_compile": config.torch_compile,
        "cuda_graphs": config.cuda_graphs,
        "task": target.contract.task,
        "keypoints": target.task.keypoints,
        "min_expression": config.min_expression,
    }
    return AuditResult(
        attr_names=attr_names,
        frozen=frozen,
        main_attack=config.attack.variant,
        clean_accuracy=clean_acc,
        reconstruction_accuracy=recon_acc,
        sensitivity=sens,
        subpopulations=subpops,
        single_attribute=single,
        attacks=attacks,
        gallery=tuple(gallery),
        provenance=provenance,
        timings=timings,
        editability=None if editability is None else editability.editability,
        figures=figures,
    )


def _joined(runs: Sequence[Tensor | None]) -> Tensor | None:
    """One attribute's single-attribute deltas over all batches (None where it was not run)."""
    if runs[0] is None:
        return None
    ran = [r for r in runs if r is not None]
    assert len(ran) == len(runs), "a single-attribute run is missing from some batches"
    return torch.cat(ran)


def probe_data(names: Sequence[str], c: Mapping[str, Tensor]) -> ProbeData:
    def need(key: str) -> Tensor:
        value = c.get(key)
        assert value is not None, key
        return value

    return ProbeData(
        names=tuple(names),
        a0=c.get("a0"),
        a_T=c.get("a_T"),
        loss_clean=need("loss_clean"),
        loss_start=need("loss_start"),
        loss_adv=need("loss_adv"),
        error_clean=need("error_clean"),
        error_start=need("error_start"),
        error_adv=need("error_adv"),
        correct_clean=need("correct_clean").bool(),
        correct_start=need("correct_start").bool(),
        correct_adv=need("correct_adv").bool(),
        psnr_x0=need("psnr_x0"),
        ssim_x0=need("ssim_x0"),
        psnr_recon=c.get("psnr_recon"),
        ssim_recon=c.get("ssim_recon"),
        effects=c.get("effects"),
        flip_loss=c.get("flip_loss"),
        flip_changed=c.get("flip_changed"),
        path_a=c.get("path_a"),
        path_x=c.get("path_x"),
        first_grad=c.get("first_grad"),
        output_min=c.get("output_min"),
        output_max=c.get("output_max"),
    )


def summary(
    name: str, cfg: AttackConfig, d: ProbeData, target: Target, b: BootstrapConfig
) -> AttackSummary:
    scored = target.task.attack_figures(d, name, b)  # by the task's error: 0/1 or NME
    cfg_dict = dataclasses.asdict(cfg)
    return AttackSummary(
        name=name,
        config=cfg_dict,
        robust_accuracy=accuracy(d.correct_adv, images=f"{name} adversaries", config=b),
        attack_success_rate=scored.attack_success_rate,
        psnr_x0=mean_psnr(d.psnr_x0, images=f"{name} adversaries", against="x0", config=b),
        ssim_x0=mean_ssim(d.ssim_x0, images=f"{name} adversaries", against="x0", config=b),
        psnr_recon=None
        if d.psnr_recon is None
        else mean_psnr(d.psnr_recon, images=f"{name} adversaries", against="G(x0, a0)", config=b),
        ssim_recon=None
        if d.ssim_recon is None
        else mean_ssim(d.ssim_recon, images=f"{name} adversaries", against="G(x0, a0)", config=b),
        mean_nme=scored.mean_nme,
        failure_rate=scored.failure_rate,
        probes=d,
    )
