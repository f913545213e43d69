"""PROJECTION (not a measurement) of the paper's setting on a GPU, from counted FLOPs.

The paper's audit: 10,000 probes, 200 SIA steps, a ResNet-50 target at 224 px and an AttGAN at
128 px. FLOPs of one SIA step (G and f forward, backward to x and a only: no weight gradients)
are counted with torch.utils.flop_counter.FlopCounterMode at batch 1 on
torchvision.models.resnet50(weights=None) with a one-logit head, behind our adapter (resize
128 -> 224, ImageNet normalisation), and our AttGANGenerator in the reference's 128 px
configuration (enc/dec dim 64, 5 + 5 layers, shortcut 1, inject 1, 13 attributes). FLOPs do
not depend on the weights or on the batch (per image). The audit also runs the PGD and FGSM
baselines at the same steps and the attribute effects (K + 1 decodes per probe); all counted.
Hours follow from an assumed GPU bf16 throughput and efficiency, stated in the output, and,
for comparison, from this CPU's measured rate on the same step (batch 1, best of a few).
Run: PYTHONPATH=. .venv/bin/python -m benchmarks.speed.projection
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

import torch
import torchvision
from torch import Tensor
from torch.utils.flop_counter import FlopCounterMode

from sia_audit.attacks.effects import per_probe_effects
from sia_audit.generators.attgan import AttGANGenerator
from sia_audit.targets import Target, TargetContract

PROBES, STEPS = 10_000, 200
ATTRS = tuple(f"attr{k}" for k in range(13))
ATTGAN_128 = {
    "img_size": 128,
    "enc_dim": 64,
    "dec_dim": 64,
    "enc_layers": 5,
    "dec_layers": 5,
    "shortcut_layers": 1,
    "inject_layers": 1,
}
# Assumed, not measured: NVIDIA A100 dense bf16 tensor-core peak, and achieved fractions.
A100_BF16_PEAK = 312e12
EFFICIENCIES = (0.30, 0.40)
MATMUL_N = 2048


def models() -> tuple[AttGANGenerator, Target]:
    torch.manual_seed(0)
    gen = AttGANGenerator.from_settings(ATTGAN_128, ATTRS).eval().requires_grad_(False)
    net = torchvision.models.resnet50(weights=None, num_classes=1).eval()
    contract = TargetContract(
        "binary", (224, 224), (0.485, 0.456, 0.406), (0.229, 0.224, 0.225), label="attr0"
    )
    return gen, Target(net, contract)


def counted(fn: Callable[[], object]) -> int:
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def sia_step(gen: AttGANGenerator, target: Target, x: Tensor, a: Tensor, y: Tensor) -> None:
    x, a = x.clone().requires_grad_(True), a.clone().requires_grad_(True)
    loss = target.task.loss(target(gen.decode(gen.encode(x), a)), y).sum()
    torch.autograd.grad(loss, [x, a])


def pixel_step(target: Target, x: Tensor, y: Tensor) -> None:
    x = x.clone().requires_grad_(True)
    # `x + 0`: FlopCounterMode's module hooks refuse a leaf as a module input under autograd.grad.
    torch.autograd.grad(target.task.loss(target(x + 0), y).sum(), [x])


def flops_per_probe(gen: AttGANGenerator, target: Target) -> dict[str, int]:
    """FLOPs per probe of each part of an audit at the paper's steps (batch 1)."""
    x, a, y = torch.rand(1, 3, 128, 128), torch.rand(1, len(ATTRS)).round(), torch.ones(1)
    step = counted(lambda: sia_step(gen, target, x, a, y))
    with torch.no_grad():
        g_fwd = counted(lambda: gen(x, a))
        f_fwd = counted(lambda: target(x))
    pixel = counted(lambda: pixel_step(target, x, y))
    effects = counted(
        lambda: per_probe_effects(x, a, 1 - a, y, generator=gen, target=target, task=target.task)
    )
    return {
        "SIA step (G + f fwd, bwd to x, a)": step,
        "SIA: 200 steps + final G + f": STEPS * step + g_fwd + f_fwd,
        "PGD: clean + 200 steps + final f": 2 * f_fwd + STEPS * pixel,
        "FGSM: clean + 1 step + final f": 2 * f_fwd + pixel,
        "clean f + reconstruction G": f_fwd + g_fwd,
        f"attribute effects ({len(ATTRS)} + 1 decodes)": effects,
    }


def cpu_rate(gen: AttGANGenerator, target: Target, flops: int) -> tuple[float, float]:
    """This CPU's GFLOP/s on one SIA step at batch 1, and a dense fp32 matmul's (best of 3)."""
    x, a, y = torch.rand(1, 3, 128, 128), torch.rand(1, len(ATTRS)).round(), torch.ones(1)
    m1, m2 = torch.randn(MATMUL_N, MATMUL_N), torch.randn(MATMUL_N, MATMUL_N)
    best = {"step": float("inf"), "matmul": float("inf")}
    thunks = {"step": lambda: sia_step(gen, target, x, a, y), "matmul": lambda: m1 @ m2}
    for fn in thunks.values():
        fn()  # warm-up
    for _ in range(3):
        for name, fn in thunks.items():
            t = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - t)
    return flops / best["step"] / 1e9, 2 * MATMUL_N**3 / best["matmul"] / 1e9


def main() -> None:
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"load average at start {os.getloadavg()}"
    )
    gen, target = models()
    parts = flops_per_probe(gen, target)
    for name, flops in parts.items():
        print(f"  {name:44s} {flops / 1e9:10.2f} GFLOP per probe")
    per_probe = sum(v for k, v in parts.items() if not k.startswith("SIA step"))
    total = PROBES * per_probe
    sia_only = PROBES * parts["SIA: 200 steps + final G + f"]
    print(
        f"total for {PROBES} probes x {STEPS} steps: {total / 1e15:.1f} PFLOP "
        f"(SIA alone {sia_only / 1e15:.1f} PFLOP)"
    )
    print("PROJECTION (assumed throughput, not measured):")
    for eff in EFFICIENCIES:
        rate = A100_BF16_PEAK * eff
        print(
            f"  A100 bf16 at {eff:.0%} of its 312 TFLOP/s peak = {rate / 1e12:.0f} TFLOP/s: "
            f"{total / rate / 3600:.2f} h for the audit ({sia_only / rate / 3600:.2f} h SIA alone)"
        )
    achieved, matmul = cpu_rate(gen, target, parts["SIA step (G + f fwd, bwd to x, a)"])
    fraction = achieved / matmul
    rate = A100_BF16_PEAK * fraction
    print(
        f"  A100 at this CPU's measured fraction of its own matmul ({achieved:.1f} / "
        f"{matmul:.1f} GFLOP/s = {fraction:.0%}): {total / rate / 3600:.2f} h"
    )
    print(
        f"  this CPU at its measured {achieved:.1f} GFLOP/s (batch 1, float32): "
        f"{total / (achieved * 1e9) / 3600:.0f} h = {total / (achieved * 1e9) / 86400:.1f} days"
    )
    print(f"load average at end {os.getloadavg()}")


if __name__ == "__main__":
    main()
