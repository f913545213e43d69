"""GPU check, section 2: throughput at the paper's shapes, and the 10,000-probe audit measured.

Models: the reference AttGAN at 128 px (elvisyjlin/AttGAN-PyTorch's defaults, which are
`GENERATOR_DEFAULTS`: enc/dec dim 64, 5 + 5 layers, shortcut 1, inject 0, 13 attributes) and a
torchvision ResNet-50 with a one-logit head at 224 px behind our adapter, both with random
weights (`weights=None`: nothing is downloaded); their BatchNorm statistics are set from one
random batch so that activations stay in the range trained models have (speed does not depend
on the weights, but a bf16 overflow would). The attack is the package's: `attack` for the step
rate, `audit_batches` for one whole audit batch.

- Step rate: SIA `full` at a few batch sizes, float32 and bf16 autocast, eager and compiled;
  the time of one step is (t(n2 steps) - t(n1 steps)) / (n2 - n1), so the clean and final
  passes drop out. Probe-steps/s = batch / step time.
- The whole audit: one batch of `audit_batches` at 200 steps with the FGSM and PGD baselines
  and the attribute effects (what `sia-audit run` does per batch), times ceil(10,000 / batch).
  Time is linear in probes and steps (docs/performance.md, section 5).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch
import torchvision
from torch import Tensor, nn

from benchmarks.gpu.budget import Section, Skip
from benchmarks.speed.projection import counted, sia_step
from sia_audit.attacks import AttackConfig, attack
from sia_audit.attacks.acceleration import accelerate
from sia_audit.audit import AuditConfig, audit_batches
from sia_audit.generators.attgan import AttGANGenerator
from sia_audit.generators.interface import Generator
from sia_audit.targets import Target, TargetContract

if TYPE_CHECKING:
    from benchmarks.gpu.check import Context

CELEBA_13 = (
    "Bald", "Bangs", "Black_Hair", "Blond_Hair", "Brown_Hair", "Bushy_Eyebrows", "Eyeglasses",
    "Male", "Mouth_Slightly_Open", "Mustache", "No_Beard", "Pale_Skin", "Young",
)  # fmt: skip  # AttGAN-PyTorch's default attribute list, in its order
LABEL = "Eyeglasses"
AUDIT_PROBES, AUDIT_STEPS = 10_000, 200  # the paper's setting
GOAL_MINUTES = 10.0  # the paper's setting on one H100/H200-class GPU


@dataclass(frozen=True)
class Shapes:
    """The models and sizes a run measures: the paper's on a GPU, toy ones in a dry run."""

    name: str
    generator: Mapping[str, int]  # AttGAN settings over the reference defaults
    target: str  # a torchvision model name (weights=None)
    target_size: int
    batches: tuple[int, ...]
    steps: tuple[int, int]  # n1 < n2: their time difference is (n2 - n1) steps
    audit_steps: int  # steps of the measured whole-audit batch (the paper's 200)
    matmul_n: int
    compile: bool  # torch.compile items (minutes on a CPU: GPU runs only)
    notes: tuple[str, ...] = field(default=())


PAPER = Shapes(
    "paper: AttGAN 128 px (reference layout) + ResNet-50 224 px",
    {},
    "resnet50",
    224,
    (32, 64, 128, 256),
    (2, 8),
    AUDIT_STEPS,
    8192,
    compile=True,
)
TOY = Shapes(
    "toy: AttGAN 16 px (dim 4, 2 + 2 layers) + ResNet-18 32 px",
    {"img_size": 16, "enc_dim": 4, "dec_dim": 4, "enc_layers": 2, "dec_layers": 2},
    "resnet18",
    32,
    (2, 4),
    (1, 3),
    3,
    256,
    compile=False,
    notes=("toy shapes on a CPU: the code paths of the GPU run, not its figures",),
)


class RandomProbes:
    """`count` random images and 0/1 attributes in memory: speed depends on shapes, not pixels."""

    def __init__(self, count: int, size: int, attr_names: Sequence[str], seed: int = 0) -> None:
        g = torch.Generator().manual_seed(seed)
        self.attr_names = tuple(attr_names)
        self.names = tuple(f"random-{seed}-{i:06d}" for i in range(count))
        self.attrs = torch.rand(count, len(self.attr_names), generator=g).round()
        self.landmarks: Tensor | None = None
        self._images = torch.rand(count, 3, size, size, generator=g)
        self.size, self.seed = size, seed

    def __len__(self) -> int:
        return len(self.names)

    @property
    def output_size(self) -> tuple[int, int]:
        return (self.size, self.size)

    def load_images(self, indices: Sequence[int]) -> Tensor:
        return self._images[list(indices)]

    def manifest_sha256(self) -> str:
        return hashlib.sha256(f"random:{self.seed}:{len(self)}:{self.size}".encode()).hexdigest()


def calibrate_batchnorm(module: nn.Module, forward: Callable[[], object]) -> None:
    """Set every BatchNorm's running statistics from one forward pass, then back to eval."""
    norms = [m for m in module.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average: one batch gives exactly its statistics
        m.train()
    with torch.no_grad():
        forward()
    for m in norms:
        m.momentum = 0.1
        m.eval()


def build_models(shapes: Shapes, device: torch.device) -> tuple[Generator, Target]:
    torch.manual_seed(0)
    gen = AttGANGenerator.from_settings(dict(shapes.generator), CELEBA_13).to(device)
    net = torchvision.models.get_model(shapes.target, weights=None, num_classes=1)
    contract = TargetContract(
        "binary",
        (shapes.target_size, shapes.target_size),
        (0.485, 0.456, 0.406),
        (0.229, 0.224, 0.225),
        label=LABEL,
    )
    target = Target(net, contract).to(device)
    probes = RandomProbes(16, gen.image_size, CELEBA_13, seed=1)
    x, a = probes.load_images(range(16)).to(device), probes.attrs.to(device)
    calibrate_batchnorm(gen, lambda: gen(x, a))
    calibrate_batchnorm(net, lambda: target(gen(x, a)))
    gen.eval().requires_grad_(False)
    target.eval().requires_grad_(False)
    return gen, target


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def matmul_tflops(n: int, dtype: torch.dtype, device: torch.device, reps: int = 10) -> float:
    """A dense n^3 matmul's rate: the ceiling the step's achieved rate is read against."""
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    a @ b
    sync(device)
    t = time.perf_counter()
    for _ in range(reps):
        a @ b
    sync(device)
    return 2 * n**3 * reps / (time.perf_counter() - t) / 1e12


def _batch(probes: RandomProbes, batch: int, device: torch.device) -> tuple[Tensor, ...]:
    idx = range(batch)
    y = probes.attrs[:batch, CELEBA_13.index(LABEL)]
    return probes.load_images(idx).to(device), probes.attrs[:batch].to(device), y.to(device)


def step_rate(
    gen: Generator,
    target: Target,
    probes: RandomProbes,
    *,
    batch: int,
    steps: tuple[int, int],
    bf16: bool,
    device: torch.device,
    flops_per_probe_step: float | None = None,
) -> dict[str, Any]:
    """SIA `full` steps per second at this batch (best of two timings of n1 and n2 steps)."""
    x0, a0, y = _batch(probes, batch, device)

    def timed(n: int) -> float:
        config = AttackConfig.preset("paper", steps=n, autocast_bf16=bf16)
        sync(device)
        t = time.perf_counter()
        attack(x0, a0, y, generator=gen, target=target, task=target.task, config=config)
        sync(device)
        return time.perf_counter() - t

    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    first = timed(1)  # cuDNN's algorithm choice, the allocator; compilation when compiled
    n1, n2 = steps
    t1, t2 = min(timed(n1), timed(n1)), min(timed(n2), timed(n2))
    if t2 > t1:
        per_step, method = (t2 - t1) / (n2 - n1), f"(t({n2}) - t({n1})) / {n2 - n1}"
    else:  # timing noise on a loaded CPU: an upper bound that still counts the fixed passes
        per_step, method = t2 / n2, f"t({n2}) / {n2} (difference not positive)"
    rate = batch / per_step
    result: dict[str, Any] = {
        "batch": batch,
        "precision": "bf16" if bf16 else "fp32",
        "first_call_s": round(first, 3),
        "step_ms": round(per_step * 1e3, 3),
        "probe_steps_per_s": round(rate, 2),
        "method": method,
        "peak_gpu_memory_gib": round(torch.cuda.max_memory_allocated(device) / 2**30, 3)
        if device.type == "cuda"
        else None,
    }
    if flops_per_probe_step:
        result["achieved_tflops"] = round(flops_per_probe_step * rate / 1e12, 4)
    result["note"] = f"{rate:.1f} probe-steps/s, {per_step * 1e3:.1f} ms/step"
    return result


def audit_batch(
    gen: Generator,
    target: Target,
    probes: RandomProbes,
    *,
    batch: int,
    steps: int,
    bf16: bool,
    device: torch.device,
) -> dict[str, Any]:
    """One batch of the whole audit (SIA, FGSM, PGD, effects), and 10,000 x 200 projected."""
    config = AuditConfig(
        attack=AttackConfig.preset("paper", steps=steps, autocast_bf16=bf16),
        batch_size=batch,
        device=str(device),
    )
    sync(device)
    t = time.perf_counter()
    audit_batches(probes, gen, target, config, batches=[0])
    sync(device)
    seconds = time.perf_counter() - t
    batches = math.ceil(AUDIT_PROBES / batch)
    minutes = batches * seconds * (AUDIT_STEPS / steps) / 60
    return {
        "batch": batch,
        "precision": "bf16" if bf16 else "fp32",
        "steps": steps,
        "batch_seconds": round(seconds, 3),
        "projected_minutes_10000x200": round(minutes, 2),
        "projection": f"{batches} batches x {seconds:.2f} s"
        + ("" if steps == AUDIT_STEPS else f" x {AUDIT_STEPS}/{steps} steps")
        + " (metrics and loading not counted)",
        "note": f"{seconds:.2f} s per batch -> {minutes:.1f} min for 10,000 probes x 200 steps",
    }


def compiled_rate(
    gen: Generator, target: Target, probes: RandomProbes, **kwargs: Any
) -> dict[str, Any]:
    """`step_rate` through `accelerate(..., compile=True)`; first_call_s holds the compilation."""
    import torch._dynamo

    torch._dynamo.reset()
    fast_gen, fast_target = accelerate(gen, target, compile=True)
    result = step_rate(fast_gen, fast_target, probes, **kwargs)
    result["compile"] = "torch.compile, mode default (first_call_s includes compilation)"
    return result


def _best(items: Mapping[str, Any], prefix: str) -> dict[str, Any] | None:
    done = [
        e
        for name, e in items.items()
        if name.startswith(prefix) and e.get("status") == "ok" and "probe_steps_per_s" in e
    ]
    return max(done, key=lambda e: e["probe_steps_per_s"], default=None)


def run_section(section: Section, ctx: Context) -> None:
    """Every throughput item within the section's time, then a summary of the best figures."""
    shapes = TOY if ctx.dry_run else PAPER
    device = torch.device(ctx.device)
    measure(section, shapes, device)
    section.record["summary"] = summarise(section.record["items"], shapes)


def measure(section: Section, shapes: Shapes, device: torch.device) -> None:
    state: dict[str, Any] = {}

    def setup() -> dict[str, Any]:
        gen, target = build_models(shapes, device)
        probes = RandomProbes(max(shapes.batches), gen.image_size, CELEBA_13)
        one = _batch(probes, 1, device)
        flops = counted(lambda: sia_step(gen, target, *one))
        state.update(gen=gen, target=target, probes=probes, flops=flops)
        n = shapes.matmul_n
        return {
            "shapes": shapes.name,
            "generator": dict(gen.settings),
            "target": f"torchvision {shapes.target}(weights=None, num_classes=1) at "
            f"{shapes.target_size} px",
            "gflop_per_probe_step": round(flops / 1e9, 3),
            "matmul_tflops_bf16": round(matmul_tflops(n, torch.bfloat16, device), 2),
            "matmul_tflops_fp32": round(matmul_tflops(n, torch.float32, device), 2),
            "cudnn_benchmark": torch.backends.cudnn.benchmark,
        }

    if section.item("setup", setup, need=5) is None:
        return
    common = dict(gen=state["gen"], target=state["target"], probes=state["probes"], device=device)
    for bf16 in (False, True):
        precision = "bf16" if bf16 else "fp32"
        for batch in shapes.batches:
            r = section.item(
                f"eager_{precision}_b{batch}",
                lambda b=batch, p=bf16: step_rate(
                    **common,
                    batch=b,
                    steps=shapes.steps,
                    bf16=p,
                    flops_per_probe_step=state["flops"],
                ),
                need=2,
            )
            if r is None:  # out of memory or time at this batch: larger ones will not do better
                if device.type == "cuda":
                    torch.cuda.empty_cache()
                break
    items = section.record["items"]
    for bf16 in (True, False):
        precision = "bf16" if bf16 else "fp32"
        best = _best(items, f"eager_{precision}_")
        if best is None:
            continue
        need = 2.2 * shapes.audit_steps * best["step_ms"] / 1e3 + 5
        section.item(
            f"audit_batch_{precision}",
            lambda b=best["batch"], p=bf16: audit_batch(
                **common, batch=b, steps=shapes.audit_steps, bf16=p
            ),
            need=need,
        )
    for bf16 in (True, False):
        precision = "bf16" if bf16 else "fp32"
        best = _best(items, f"eager_{precision}_")

        def compiled(b: dict[str, Any] | None = best, p: bool = bf16) -> dict[str, Any]:
            if not shapes.compile:
                raise Skip(
                    "torch.compile is measured on the GPU only (minutes to compile on a CPU)"
                )
            if b is None:
                raise Skip("no eager rate to compare with")
            return compiled_rate(
                **common,
                batch=b["batch"],
                steps=shapes.steps,
                bf16=p,
                flops_per_probe_step=state["flops"],
            )

        section.item(f"compiled_{precision}", compiled, need=60)


def summarise(items: Mapping[str, Any], shapes: Shapes) -> dict[str, Any]:
    """The best rate per precision and mode, and the projection of the paper's setting."""
    best = {
        name: _best(items, prefix)
        for name, prefix in (
            ("eager_fp32", "eager_fp32_"),
            ("eager_bf16", "eager_bf16_"),
            ("compiled_fp32", "compiled_fp32"),
            ("compiled_bf16", "compiled_bf16"),
        )
    }
    rates = {
        name: None
        if e is None
        else {
            "batch": e["batch"],
            "probe_steps_per_s": e["probe_steps_per_s"],
            "peak_gpu_memory_gib": e.get("peak_gpu_memory_gib"),
        }
        for name, e in best.items()
    }
    fastest = max(
        (e for e in best.values() if e is not None),
        key=lambda e: e["probe_steps_per_s"],
        default=None,
    )
    audits = {
        p: items[f"audit_batch_{p}"]["projected_minutes_10000x200"]
        for p in ("fp32", "bf16")
        if items.get(f"audit_batch_{p}", {}).get("status") == "ok"
    }
    whole = min(audits.values(), default=None)
    sia_only = (
        None
        if fastest is None
        else round(AUDIT_PROBES * AUDIT_STEPS / fastest["probe_steps_per_s"] / 60, 2)
    )
    return {
        "shapes": shapes.name,
        "best_rates": rates,
        "projection_10000x200": {
            "whole_audit_minutes": audits,
            "sia_steps_only_minutes_at_fastest_rate": sia_only,
            "goal_minutes": GOAL_MINUTES,
            "goal_met": None if whole is None else whole <= GOAL_MINUTES,
            "basis": "measured: one whole-audit batch (SIA + FGSM + PGD + effects) at "
            f"{shapes.audit_steps} steps, eager, times ceil({AUDIT_PROBES} / batch)"
            + ("" if shapes.audit_steps == AUDIT_STEPS else ", scaled linearly to 200 steps"),
        },
        "notes": list(shapes.notes),
    }
