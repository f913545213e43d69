"""The one batch loop: probes in batches through a list of attacks, and the audit's numbers.

`attack_batches` yields, batch by batch, the probes' inputs and every attack's result on the
device; the audit (`audit_batches`), `generate` and the benchmarks all consume it. Sharing is
done here once: the clean output of the target on x0 (every attack's figures, and in float32
the pixel baselines' starting output) and the reconstruction G(x0, a0) (the first generator
attack decodes it; later attacks' PSNR/SSIM against it reuse it).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from sia_audit.attacks.acceleration import accelerate
from sia_audit.attacks.effects import per_probe_effects, per_probe_flips
from sia_audit.attacks.engine import AttackBatch, attack
from sia_audit.attacks.variants import get_variant
from sia_audit.audit.config import (
    AuditConfig,
    Batches,
    Progress,
    attribute_radii,
    plan_batches,
    resolve_device,
)
from sia_audit.audit.gallery import gallery_candidates
from sia_audit.errors import DataError, UsageError
from sia_audit.generators.checkpoint import check_attributes
from sia_audit.generators.interface import Generator
from sia_audit.memory import release_freed_memory
from sia_audit.metrics import psnr, ssim
from sia_audit.probes.interface import ProbeSet
from sia_audit.results import GalleryItem
from sia_audit.targets.contract import Target


@dataclass(frozen=True)
class Setup:
    """The models on their device and what every batch needs, checked once."""

    device: torch.device
    generator: Generator
    target: Target
    labels: Tensor
    eps_a: Tensor


def setup(probes: ProbeSet, generator: Generator, target: Target, config: AuditConfig) -> Setup:
    """Check probes, generator and target against each other; place them on the device."""
    check_attributes(generator.attr_names, probes.attr_names)
    if tuple(probes.output_size) != (generator.image_size, generator.image_size):
        raise DataError(
            f"probe images are {probes.output_size} but the generator works at "
            f"{generator.image_size}x{generator.image_size}; resize the probes to match"
        )
    for attr in config.subpopulations:
        if attr not in generator.attr_names:
            raise UsageError(f"sub-population attribute {attr!r} is not a generator attribute")
    device = resolve_device(config.device)
    generator = generator.to(device).eval()
    target = target.to(device).eval()
    labels = target.task.labels(probes)
    eps_a = attribute_radii(generator, target, config.radii).to(device)
    return Setup(device, generator, target, labels, eps_a)


def accelerated(env: Setup, config: AuditConfig) -> Setup:
    """With torch_compile (and CUDA graphs), the compiled models; otherwise `env` itself."""
    if not config.torch_compile:
        return env
    g, t = accelerate(env.generator, env.target, compile=True, cuda_graphs=config.cuda_graphs)
    return dataclasses.replace(env, generator=g, target=t)


@dataclass(frozen=True)
class BatchAttacks:
    """One batch attacked by each attack of a list: its inputs and the results, on the device."""

    start: int
    indices: list[int]
    x0: Tensor
    a0: Tensor
    y: Tensor
    clean: dict[str, Tensor]  # loss, error, correct and output range of the target on x0
    results: dict[str, AttackBatch]  # by attack name, in the order asked
    recon: Tensor | None  # G(x0, a0), when a generator attack ran


def attack_batches(
    probes: ProbeSet,
    generator: Generator,
    target: Target,
    config: AuditConfig,
    attacks: Sequence[str] | None = None,
    batches: Batches | None = None,
    progress: Progress | None = None,
    env: Setup | None = None,
) -> Iterator[BatchAttacks]:
    """Attack the given batches (default: all) with `attacks` (default: the audit's own).

    Any list of variants is allowed, pixel attacks alone included; each runs with the step
    schedule of `config.attack`. Batches are yielded one at a time, so memory holds one.
    """
    names = tuple(attacks) if attacks is not None else config.attacks
    for name in names:
        get_variant(name)  # an unknown name fails before any work
    env = env or accelerated(setup(probes, generator, target, config), config)
    for start in plan_batches(len(probes), config.batch_size) if batches is None else batches:
        yield _attack_batch(probes, env, config, names, start)
        if progress is not None:
            progress("attack", min(config.batch_size, len(probes) - start))
        if env.device.type == "cpu":
            release_freed_memory()  # the batch's freed working set: RSS stays flat in probes


def _attack_batch(
    probes: ProbeSet, env: Setup, config: AuditConfig, names: Sequence[str], start: int
) -> BatchAttacks:
    target, device = env.target, env.device
    idx = list(range(start, min(start + config.batch_size, len(probes))))
    x0 = probes.load_images(idx).to(device)
    a0 = probes.attrs[idx].to(device)
    y = env.labels[idx].to(device)
    with torch.no_grad():
        out = target(x0)
        flat = out.detach().float().reshape(out.shape[0], -1)
        clean = {
            "loss_clean": target.task.loss(out, y),
            "error_clean": target.task.error(out, y),
            "correct_clean": target.task.correct(out, y),
            # The range of the raw output on x0: a validity flag tells probabilities from logits.
            "output_min": flat.amin(dim=1),
            "output_max": flat.amax(dim=1),
        }
    shared_clean = None if config.attack.autocast_bf16 else out
    recon: Tensor | None = None
    results: dict[str, AttackBatch] = {}
    for name in names:
        uses_g = get_variant(name).uses_generator
        r = attack(
            x0,
            a0 if uses_g else None,
            y,
            generator=env.generator if uses_g else None,
            target=target,
            task=target.task,
            config=dataclasses.replace(config.attack, variant=name),
            eps_a=env.eps_a,
            clean_output=None if uses_g else shared_clean,
        )
        if recon is None and uses_g:
            recon = r.start  # a generator attack starts from G(x0, a0)
        results[name] = r
    return BatchAttacks(start, idx, x0, a0, y, clean, results, recon)


@dataclass(frozen=True)
class BatchNumbers:
    """What attacking one batch produced, on CPU: what a rank sends to rank 0 to be measured.

    `attacks[name][key]` is a per-probe tensor (batch on dim 0); `gallery` holds the batch's
    gallery candidates in preference order (no more than the gallery can take from one batch);
    `single` the single-attribute deltas per attribute (None where frozen; empty when off).
    """

    start: int
    attacks: dict[str, dict[str, Tensor]]
    gallery: list[GalleryItem]
    single: list[Tensor | None]


def audit_batches(
    probes: ProbeSet,
    generator: Generator,
    target: Target,
    config: AuditConfig,
    batches: Batches | None = None,
    progress: Progress | None = None,
    attacks: Sequence[str] | None = None,
) -> list[BatchNumbers]:
    """The per-probe numbers of the given batches (default: all), as `measure` takes them."""
    env = accelerated(setup(probes, generator, target, config), config)
    names = tuple(attacks) if attacks is not None else config.attacks
    out = []
    for b in attack_batches(probes, generator, target, config, names, batches, progress, env):
        out.append(_numbers(probes, env, config, b))
    return out


def _numbers(probes: ProbeSet, env: Setup, config: AuditConfig, b: BatchAttacks) -> BatchNumbers:
    generator, target = env.generator, env.target
    attacks: dict[str, dict[str, Tensor]] = {}
    gallery: list[GalleryItem] = []
    for name, r in b.results.items():
        uses_g = get_variant(name).uses_generator
        effects = flip_loss = flip_changed = None
        if uses_g and config.effects:
            assert r.a_T is not None  # a variant that uses the generator moves attributes
            effects = per_probe_effects(
                r.x_T, b.a0, r.a_T, b.y, generator=generator, target=target, task=target.task
            )
        if uses_g and config.flips and name == config.attack.variant:
            flip_loss, flip_changed = per_probe_flips(
                b.x0, b.a0, b.y, generator=generator, target=target, task=target.task,
                names=generator.attr_names,
            )  # fmt: skip
        attacks[name] = cpu(
            **b.clean,
            a0=r.a0,
            a_T=r.a_T,
            loss_start=r.loss_start,
            loss_adv=r.loss_adv,
            error_start=r.error_start,
            error_adv=r.error_adv,
            correct_start=r.correct_start,
            correct_adv=r.correct_adv,
            psnr_x0=psnr(r.adversary, b.x0),
            ssim_x0=ssim(r.adversary, b.x0),
            psnr_recon=psnr(r.adversary, b.recon) if uses_g and b.recon is not None else None,
            ssim_recon=ssim(r.adversary, b.recon) if uses_g and b.recon is not None else None,
            effects=effects,
            flip_loss=flip_loss,
            flip_changed=flip_changed,
            path_a=r.path_a,
            path_x=r.path_x,
            first_grad=r.first_grad,
        )
        if name == config.attack.variant and b.recon is not None:
            gallery = gallery_candidates(
                config.gallery, probes, b.indices, b.x0, b.recon, r, b.clean["correct_clean"]
            )
    single = _single_attribute(b, env, config) if config.single_attribute else []
    return BatchNumbers(b.start, attacks, gallery, single)


def cpu(**values: Tensor | None) -> dict[str, Tensor]:
    return {k: v.detach().float().cpu() for k, v in values.items() if v is not None}


def _single_attribute(b: BatchAttacks, env: Setup, config: AuditConfig) -> list[Tensor | None]:
    """Paper 4.2.3 on one batch: K runs, run k moving only attribute k (and x); a_T - a_0 of
    run k per attribute k (None where attribute k is frozen)."""
    k = env.generator.num_attrs
    deltas: list[Tensor | None] = []
    for j in range(k):
        if float(env.eps_a[j]) == 0.0:
            deltas.append(None)
            continue
        mask = torch.zeros(k, dtype=torch.bool, device=env.device)
        mask[j] = True
        r = attack(
            b.x0,
            b.a0,
            b.y,
            generator=env.generator,
            target=env.target,
            task=env.target.task,
            config=config.attack,
            eps_a=env.eps_a,
            update_mask=mask,
        )
        assert r.a_T is not None and r.a0 is not None  # the main attack moves attributes
        deltas.append((r.a_T - r.a0).cpu())
    return deltas
