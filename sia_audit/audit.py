"""The audit core: run SIA and its baselines over a probe set in batches, then measure.

`audit(probes, generator, target, config)` is the whole pipeline a notebook, a test or the CLI
calls: probes -> generator -> target -> attacks -> metrics. It knows nothing of the CLI or the
report formats. Memory is bounded by the batch size: images live only for their batch; only
per-probe numbers and a few gallery images are kept.
"""

from __future__ import annotations

import dataclasses
import platform
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor

import sia_audit
from sia_audit.attacks.acceleration import accelerate
from sia_audit.attacks.config import AttackConfig
from sia_audit.attacks.effects import attribute_effect as per_probe_effects
from sia_audit.attacks.engine import attack
from sia_audit.attacks.variants import get_variant
from sia_audit.errors import DataError, UsageError
from sia_audit.generators.checkpoint import check_attributes
from sia_audit.generators.classifiers import AttributeClassifier
from sia_audit.generators.editability import measure_editability
from sia_audit.generators.interface import Generator
from sia_audit.memory import release_freed_memory
from sia_audit.metrics import (
    BootstrapConfig,
    accuracy,
    attack_success_rate,
    failure_rate,
    keypoint_attack_success_rate,
    mean_nme,
    mean_psnr,
    mean_ssim,
    psnr,
    sensitivity,
    ssim,
    subpopulation_sensitivity,
)
from sia_audit.metrics import attribute_effect as effect_estimates
from sia_audit.metrics.editability import DEFAULT_MIN_EXPRESSION, Editability
from sia_audit.metrics.estimate import EmptyMetricError, Estimate
from sia_audit.probes.interface import ProbeSet
from sia_audit.results import AttackSummary, AuditResult, GalleryItem, ProbeData
from sia_audit.targets.contract import Target

KEYPOINT_TASKS = ("keypoints-heatmap", "keypoints-coords")
Progress = Callable[[str, int], None]  # (stage, probes done in this call)


@dataclass(frozen=True)
class AuditConfig:
    """How to audit: the main attack, the baselines at the same eps, and what to measure."""

    attack: AttackConfig = field(default_factory=AttackConfig)
    baselines: tuple[str, ...] = ("fgsm", "pgd")
    batch_size: int = 32
    device: str = "auto"
    bootstrap: BootstrapConfig = field(default_factory=BootstrapConfig)
    # Per-attribute radius overrides; the target's own label attribute is frozen (0) by default.
    radii: Mapping[str, float] = field(default_factory=dict)
    subpopulations: tuple[str, ...] = ("Male",)
    effects: bool = True
    single_attribute: bool = False
    gallery: int = 8
    # Execution options that leave the maths alone (figures equal up to float rounding):
    # torch.compile of G and f, and CUDA graphs on top of it (attacks/acceleration.py).
    torch_compile: bool = False
    cuda_graphs: bool = False
    # Editability (SPEC 6c): attributes whose expression rate falls below this are unmeasurable.
    min_expression: float = DEFAULT_MIN_EXPRESSION

    def __post_init__(self) -> None:
        if not get_variant(self.attack.variant).uses_generator:
            raise UsageError(
                f"the main attack must move attributes (e.g. full), not {self.attack.variant!r}; "
                "pixel attacks run as baselines"
            )
        if self.cuda_graphs and not self.torch_compile:
            raise UsageError("cuda_graphs needs torch_compile; turn both on")
        if self.batch_size < 1:
            raise UsageError(f"batch_size must be at least 1, got {self.batch_size}")
        for name in self.baselines:
            if get_variant(name).uses_generator:
                raise UsageError(f"baseline {name!r} is not a pixel attack; use fgsm or pgd")
        if self.device not in ("auto", "cpu", "cuda") and not self.device.startswith("cuda:"):
            raise UsageError(f"device must be auto, cpu or cuda[:N], got {self.device!r}")


def resolve_device(name: str) -> torch.device:
    """`auto` picks CUDA when a GPU is present, else the CPU."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise UsageError("device cuda was asked for but no GPU is available; use --device cpu")
    return device


def task_labels(probes: ProbeSet, target: Target) -> Tensor:
    """The label each probe carries for this target's task (SPEC 4)."""
    c = target.contract
    if c.task == "binary":
        if c.label not in probes.attr_names:
            raise DataError(
                f"the target predicts {c.label!r} but the probe set does not label it; "
                "use probes that label the target's attribute"
            )
        return (probes.attrs[:, probes.attr_names.index(c.label)] >= 0.5).float()
    if c.task in KEYPOINT_TASKS:
        if probes.landmarks is None:
            raise DataError("a keypoint target needs probe landmarks; this probe set has none")
        h, w = probes.output_size
        return probes.landmarks / torch.tensor([w, h], dtype=probes.landmarks.dtype)
    raise UsageError(f"probe sets do not carry labels for task {c.task!r} yet")


def attribute_radii(generator: Generator, target: Target, radii: Mapping[str, float]) -> Tensor:
    """eps_a per generator attribute: 1 (only the box) unless frozen or overridden."""
    names = generator.attr_names
    unknown = [n for n in radii if n not in names]
    if unknown:
        raise UsageError(
            f"radius given for unknown attributes {unknown}; the generator has {names}"
        )
    eps = torch.ones(len(names))
    label = target.contract.label
    if label in names:  # SPEC 5: the target's own attribute is frozen by default
        eps[names.index(label)] = 0.0
    for name, value in radii.items():
        if not 0.0 <= value <= 1.0:
            raise UsageError(f"radius of {name} is {value}; use a value in [0, 1]")
        eps[names.index(name)] = value
    return eps


Batches = Sequence[int]  # first probe index of each batch, in probe order


def plan_batches(n: int, batch_size: int, rank: int = 0, world: int = 1) -> list[int]:
    """The batches (by first probe index) that `rank` of `world` attacks: every world-th one.

    Whole batches are dealt out, so each probe is attacked in the same batch, with the same
    numbers, as in a single-process run; round-robin keeps the shards within a batch of each
    other in size.
    """
    return list(range(0, n, batch_size))[rank::world]


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


@dataclass(frozen=True)
class _Setup:
    device: torch.device
    generator: Generator
    target: Target
    labels: Tensor
    eps_a: Tensor


def _setup(probes: ProbeSet, generator: Generator, target: Target, config: AuditConfig) -> _Setup:
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
    labels = task_labels(probes, target)
    eps_a = attribute_radii(generator, target, config.radii).to(device)
    return _Setup(device, generator, target, labels, eps_a)


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
    editability = check_editability(probes, generator, classifier, config)
    t0 = time.perf_counter()
    numbers = attack_batches(probes, generator, target, config, progress=progress)
    return measure(
        probes, generator, target, config, numbers, time.perf_counter() - t0, 1, editability
    )


@dataclass(frozen=True)
class TimedEditability:
    """The editability check and what it cost (reported apart from the figures)."""

    editability: Editability
    seconds: float


def check_editability(
    probes: ProbeSet,
    generator: Generator,
    classifier: AttributeClassifier | None,
    config: AuditConfig,
) -> TimedEditability | None:
    """The generator's editability on the audit's probes, or None without a classifier."""
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
    )
    return TimedEditability(result, time.perf_counter() - t0)


def attack_batches(
    probes: ProbeSet,
    generator: Generator,
    target: Target,
    config: AuditConfig,
    batches: Batches | None = None,
    progress: Progress | None = None,
) -> list[BatchNumbers]:
    """Attack the given batches (default: all) with every attack of `config`."""
    env = _setup(probes, generator, target, config)
    if config.torch_compile:
        g, t = accelerate(env.generator, env.target, compile=True, cuda_graphs=config.cuda_graphs)
        env = dataclasses.replace(env, generator=g, target=t)
    if batches is None:
        batches = plan_batches(len(probes), config.batch_size)
    numbers = []
    for start in batches:
        numbers.append(_attack_batch(probes, env, config, start, progress))
        if env.device.type == "cpu":
            release_freed_memory()  # the batch's freed working set: RSS stays flat in probes
    return numbers


def _attack_batch(
    probes: ProbeSet, env: _Setup, config: AuditConfig, start: int, progress: Progress | None
) -> BatchNumbers:
    generator, target, device = env.generator, env.target, env.device
    idx = list(range(start, min(start + config.batch_size, len(probes))))
    x0 = probes.load_images(idx).to(device)
    a0 = probes.attrs[idx].to(device)
    y = env.labels[idx].to(device)
    with torch.no_grad():
        out = target(x0)
        clean = dict(
            loss_clean=target.task.loss(out, y),
            error_clean=target.task.error(out, y),
            correct_clean=target.task.correct(out, y),
        )
    # Computed once per probe and shared: the clean output (by every attack's figures and, in
    # float32, as the pixel baselines' starting output) and the reconstruction G(x0, a0) (the
    # main attack's first step decodes it; the baselines' PSNR/SSIM against it reuse it).
    shared_clean = None if config.attack.autocast_bf16 else out
    recon: Tensor | None = None
    attacks: dict[str, dict[str, Tensor]] = {}
    gallery: list[GalleryItem] = []
    for name in (config.attack.variant, *config.baselines):
        cfg = dataclasses.replace(config.attack, variant=name)
        uses_g = get_variant(name).uses_generator
        r = attack(
            x0,
            a0 if uses_g else None,
            y,
            generator=generator if uses_g else None,
            target=target,
            task=target.task,
            config=cfg,
            eps_a=env.eps_a,
            clean_output=None if uses_g else shared_clean,
        )
        if recon is None:
            recon = r.start  # the main attack runs first and moves attributes: G(x0, a0)
        effects = None
        if uses_g and config.effects:
            effects = per_probe_effects(
                r.x_T, a0, r.a_T, y, generator=generator, target=target, task=target.task
            )
        attacks[name] = _cpu(
            **clean,
            a0=r.a0,
            a_T=r.a_T,
            loss_start=r.loss_clean,
            loss_adv=r.loss_adv,
            error_start=r.error_clean,
            error_adv=r.error_adv,
            correct_start=r.correct_clean,
            correct_adv=r.correct_adv,
            psnr_x0=psnr(r.adversary, x0),
            ssim_x0=ssim(r.adversary, x0),
            psnr_recon=psnr(r.adversary, recon) if uses_g else None,
            ssim_recon=ssim(r.adversary, recon) if uses_g else None,
            effects=effects,
        )
        if name == config.attack.variant:
            gallery = _gallery_candidates(config.gallery, probes, idx, x0, recon, r, clean)
    single = _single_attribute(x0, a0, y, env, config) if config.single_attribute else []
    if progress is not None:
        progress("attack", len(idx))
    return BatchNumbers(start, attacks, gallery, single)


def _cpu(**values: Tensor | None) -> dict[str, Tensor]:
    return {k: v.detach().float().cpu() for k, v in values.items() if v is not None}


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
    env = _setup(probes, generator, target, config)
    numbers = sorted(numbers, key=lambda b: b.start)
    starts = [b.start for b in numbers]
    if starts != plan_batches(len(probes), config.batch_size):
        raise AssertionError(f"batches {starts} do not cover the {len(probes)} probes once")
    t_metrics = time.perf_counter()
    attr_names = generator.attr_names
    names = [config.attack.variant, *config.baselines]
    data = {
        name: _probe_data(
            probes.names,
            {k: torch.cat([b.attacks[name][k] for b in numbers]) for k in numbers[0].attacks[name]},
        )
        for name in names
    }
    gallery: list[GalleryItem] = []
    for b in numbers:
        _merge_gallery(gallery, b.gallery, config.gallery)
    main = data[config.attack.variant]
    included = env.eps_a.cpu() > 0
    frozen = tuple(n for n, keep in zip(attr_names, included.tolist(), strict=True) if not keep)
    b = config.bootstrap
    delta = main.delta
    assert delta is not None
    unmeasurable = () if editability is None else editability.editability.unmeasurable
    unmeasurable = tuple(a for a in unmeasurable if a not in frozen)
    sens = sensitivity(delta, included, names=attr_names, config=b, unmeasurable=unmeasurable)
    subpops = {}
    for attr in config.subpopulations:
        group = main.a0[:, attr_names.index(attr)] >= 0.5
        subpops[attr] = subpopulation_sensitivity(
            delta,
            group,
            included,
            attribute=attr,
            names=attr_names,
            config=b,
            unmeasurable=unmeasurable,
        )
    effects = (
        effect_estimates(main.effects, included, names=attr_names, config=b)
        if main.effects is not None
        else None
    )
    single = None
    if config.single_attribute:
        from sia_audit.metrics import single_attribute_sensitivity

        deltas = [
            None if numbers[0].single[j] is None else torch.cat([n.single[j] for n in numbers])
            for j in range(len(attr_names))
        ]
        single = single_attribute_sensitivity(
            deltas, included, names=attr_names, config=b, unmeasurable=unmeasurable
        )
    attacks = {
        name: _summary(name, dataclasses.replace(config.attack, variant=name), d, target, b)
        for name, d in data.items()
    }
    timings = {"attack": attack_seconds, "metrics": time.perf_counter() - t_metrics}
    if editability is not None:
        timings["editability"] = editability.seconds
    keypoints = target.contract.task in KEYPOINT_TASKS
    clean_acc = accuracy(main.correct_clean.bool(), images="clean images x0", config=b)
    recon_acc = accuracy(main.correct_start.bool(), images="reconstructions G(x0, a0)", config=b)
    provenance = {
        "tool_version": sia_audit.__version__,
        "torch_version": torch.__version__,
        "python_version": platform.python_version(),
        "device": str(env.device),
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
        "keypoints": keypoints,
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
        effects=effects,
        single_attribute=single,
        attacks=attacks,
        gallery=tuple(gallery),
        provenance=provenance,
        timings=timings,
        editability=None if editability is None else editability.editability,
    )


def _probe_data(names: Sequence[str], c: Mapping[str, Tensor]) -> ProbeData:
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
    )


def _summary(
    name: str, cfg: AttackConfig, d: ProbeData, target: Target, b: BootstrapConfig
) -> AttackSummary:
    keypoints = target.contract.task in KEYPOINT_TASKS
    threshold = target.contract.nme_failure
    if keypoints:
        asr = keypoint_attack_success_rate(
            d.error_clean, d.error_adv, threshold, attack=name, config=b
        )
    else:
        asr = _asr_or_undefined(d, name, b)
    cfg_dict = dataclasses.asdict(cfg)
    return AttackSummary(
        name=name,
        config=cfg_dict,
        robust_accuracy=accuracy(d.correct_adv, images=f"{name} adversaries", config=b),
        attack_success_rate=asr,
        psnr_x0=mean_psnr(d.psnr_x0, images=f"{name} adversaries", against="x0", config=b),
        ssim_x0=mean_ssim(d.ssim_x0, images=f"{name} adversaries", against="x0", config=b),
        psnr_recon=None
        if d.psnr_recon is None
        else mean_psnr(d.psnr_recon, images=f"{name} adversaries", against="G(x0, a0)", config=b),
        ssim_recon=None
        if d.ssim_recon is None
        else mean_ssim(d.ssim_recon, images=f"{name} adversaries", against="G(x0, a0)", config=b),
        mean_nme=mean_nme(d.error_adv, images=f"{name} adversaries", config=b)
        if keypoints
        else None,
        failure_rate=failure_rate(d.error_adv, threshold, images=f"{name} adversaries", config=b)
        if keypoints
        else None,
        probes=d,
    )


def _asr_or_undefined(d: ProbeData, name: str, b: BootstrapConfig) -> Estimate:
    try:
        return attack_success_rate(d.correct_clean, d.correct_adv, attack=name, config=b)
    except EmptyMetricError:
        # No probe is right on x0: there is nothing to attack. A NaN-free, explicit answer.
        return Estimate(
            value=0.0,
            low=0.0,
            high=0.0,
            n=0,
            level=b.level,
            definition=f"{name}: undefined, the target gets no probe right on x0",
        )


def _gallery_candidates(
    limit: int,
    probes: ProbeSet,
    idx: Sequence[int],
    x0: Tensor,
    recon: Tensor,
    r,  # noqa: ANN001 - AttackBatch
    clean: dict[str, Tensor],
) -> list[GalleryItem]:
    """The batch's probes in gallery preference order (flipped first), at most `limit`.

    `_merge_gallery` never keeps more than `limit` probes of one batch, and those it keeps are
    the first ones in this order, so the candidates are all it needs.
    """
    flipped = (clean["correct_clean"] & ~r.correct_adv).cpu()
    order = sorted(range(len(idx)), key=lambda i: not bool(flipped[i]))[:limit]

    def u8(img: Tensor) -> Tensor:
        return (img.detach().float().clamp(0, 1) * 255).round().byte().permute(1, 2, 0).cpu()

    items = []
    for i in order:
        delta = (r.a_T[i] - r.a0[i]).cpu()
        changes = sorted(
            zip(probes.attr_names, delta.tolist(), strict=True), key=lambda t: -abs(t[1])
        )
        items.append(
            GalleryItem(
                name=probes.names[idx[i]],
                original=u8(x0[i]),
                reconstruction=u8(recon[i]),
                adversary=u8(r.adversary[i]),
                changes=tuple((a, round(v, 4)) for a, v in changes if abs(v) > 0),
                flipped=bool(flipped[i]),
            )
        )
    return items


def _merge_gallery(
    gallery: list[GalleryItem], candidates: Sequence[GalleryItem], limit: int
) -> None:
    """Keep the first `limit` probes the attack flipped (else the first ones), batch by batch."""
    for item in candidates:
        if len(gallery) >= limit:
            unflipped = [j for j, g in enumerate(gallery) if not g.flipped]
            if not (item.flipped and unflipped):
                continue
            gallery.pop(unflipped[-1])  # a flipped probe tells more than an unflipped one
        gallery.append(item)


def _single_attribute(
    x0: Tensor, a0: Tensor, y: Tensor, env: _Setup, config: AuditConfig
) -> list[Tensor | None]:
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
            x0,
            a0,
            y,
            generator=env.generator,
            target=env.target,
            task=env.target.task,
            config=config.attack,
            eps_a=env.eps_a,
            update_mask=mask,
        )
        deltas.append((r.a_T - r.a0).cpu())
    return deltas
