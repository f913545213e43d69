"""Renderer throughput at 64x64 on this machine, against the goal of 500 faces/s.

Prints faces/s per batch size (best of several repeats: the machine is shared and noisy) and,
measured in the same run, the speed-up of windowed layers over drawing every layer on the whole
canvas. Run: PYTHONPATH=. .venv/bin/python -m benchmarks.speed.render
"""

from __future__ import annotations

import os
import time

import torch

from sia_audit.probes.synthfaces import renderer
from sia_audit.probes.synthfaces.params import IDENTITY_PARAMS, NUISANCE_PARAMS, sample_unit
from sia_audit.probes.synthfaces.sampler import AttributeSampler

GOAL = 500.0
REPEATS = 7


def faces(n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    ident = sample_unit(n, IDENTITY_PARAMS, g)
    nu = sample_unit(n, NUISANCE_PARAMS, g)
    _, attrs = AttributeSampler().sample(n, g)
    return ident, nu, attrs


def best_rate(n: int, size: int = 64) -> float:
    args = faces(n)
    renderer.render(*args, size)  # warm-up
    best = min(_timed(lambda: renderer.render(*args, size)) for _ in range(REPEATS))
    return n / best


def _timed(fn) -> float:  # noqa: ANN001 - a thunk
    t = time.perf_counter()
    fn()
    return time.perf_counter() - t


def main() -> None:
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"load {os.getloadavg()[0]:.2f}"
    )
    rates = {}
    for n in (32, 128, 256):
        rates[n] = best_rate(n)
        print(f"batch {n:4d}: {rates[n]:7.0f} faces/s at 64x64")
    windowed = best_rate(128)
    original = renderer._window
    renderer._window = lambda size, box: (slice(None), slice(None))
    try:
        full = best_rate(128)
    finally:
        renderer._window = original
    print(f"windowed layers vs whole-canvas layers (batch 128, same run): {windowed / full:.2f}x")
    best = max(rates.values())
    verdict = "meets" if best >= GOAL else "MISSES"
    print(
        f"best {best:.0f} faces/s = {best / GOAL:.2f}x the goal of {GOAL:.0f} faces/s: {verdict} it"
    )


if __name__ == "__main__":
    main()
