"""torch.compile (sia_audit.attacks.acceleration) on this CPU: compile time and step time vs eager.

Same models as benchmarks/speed/attack.py (64 px AttGAN of the shipped size, random weights,
small CNN target), SIA `full` at batch 32. Compile time is the first compiled attack's wall
time minus an eager one's, with an empty TorchInductor cache (a temporary
TORCHINDUCTOR_CACHE_DIR), i.e. what a CI runner without a cache pays per process. Step times
are interleaved best-of-N in one run, after compilation, so the ratio is like for like.
Run: PYTHONPATH=. .venv/bin/python -m benchmarks.speed.compile [threads]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time

os.environ.setdefault("TORCHINDUCTOR_CACHE_DIR", tempfile.mkdtemp(prefix="inductor-cold-"))

import torch  # noqa: E402 - after the cache folder is chosen

from benchmarks.speed.attack import interleaved_best, models  # noqa: E402
from sia_audit.attacks import AttackConfig, attack  # noqa: E402
from sia_audit.attacks.acceleration import accelerate  # noqa: E402
from sia_audit.probes.synthfaces.attributes import ATTRIBUTES  # noqa: E402

BATCH, STEPS = 32, 10


def main() -> None:
    if len(sys.argv) > 1:
        torch.set_num_threads(int(sys.argv[1]))
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"load average at start {os.getloadavg()}, "
        f"inductor cache {os.environ['TORCHINDUCTOR_CACHE_DIR']}"
    )
    gen, target = models()
    fast_gen, fast_target = accelerate(gen, target, compile=True)
    g = torch.Generator().manual_seed(0)
    x0 = torch.rand(BATCH, 3, 64, 64, generator=g)
    a0 = torch.rand(BATCH, len(ATTRIBUTES), generator=g).round()
    y = torch.rand(BATCH, generator=g).round()
    config = AttackConfig.preset("paper", steps=STEPS)

    def eager() -> object:
        return attack(x0, a0, y, generator=gen, target=target, task=target.task, config=config)

    def compiled() -> object:
        return attack(
            x0, a0, y, generator=fast_gen, target=fast_target, task=target.task, config=config
        )

    t = time.perf_counter()
    eager_first = eager()
    t_eager = time.perf_counter() - t
    t = time.perf_counter()
    compiled_first = compiled()
    t_first = time.perf_counter() - t
    diff = (compiled_first.adversary - eager_first.adversary).abs().max().item()
    same_iterates = torch.equal(compiled_first.x_T, eager_first.x_T)
    print(
        f"first compiled attack {t_first:.1f} s vs eager {t_eager:.2f} s: compile time "
        f"~{t_first - t_eager:.1f} s (cold cache); max |adversary diff| {diff:.1e}, "
        f"x_T identical: {same_iterates}"
    )
    best = interleaved_best({"eager": eager, "compiled": compiled})
    for name in ("eager", "compiled"):
        per_step = best[name] / STEPS * 1e3
        print(
            f"  {name:9s} {STEPS} steps, batch {BATCH}: {best[name]:.3f} s ({per_step:.1f} ms/step)"
        )
    speedup = best["eager"] / best["compiled"]
    saved = best["eager"] - best["compiled"]
    verdict = (
        f"compile pays back after ~{(t_first - t_eager) / saved * STEPS:.0f} steps at this batch"
        if saved > 0
        else "compiled is not faster: compile never pays back here"
    )
    print(f"compiled vs eager step time: {speedup:.2f}x; {verdict}")
    print(f"load average at end {os.getloadavg()}")


if __name__ == "__main__":
    main()
