"""How an audit's wall time and peak memory grow with probe count and with steps.

Each configuration runs an audit (`audit_batches` then `measure`: the two halves of
`sia_audit.audit.audit`, so the attack stage's peak RSS is read before the metrics') in a FRESH
subprocess (peak RSS is its own: `resource.getrusage(RUSAGE_SELF).ru_maxrss`) on the shipped
generator (sia_audit/assets/synthfaces_attgan64.pt) and the demo target
(examples/models/eyeglasses_biased.pt), with SynthProbes(count=n, seed=0) at a fixed batch size,
the main attack `full` plus the default FGSM and PGD baselines at the same steps, and the
attribute effects. To stay affordable on a shared 2-core CPU the probe sweep runs few steps and
the steps sweep few probes; time per image-step is then the fitted slope.
Run: PYTHONPATH=. .venv/bin/python -m benchmarks.speed.scaling \\
    [probes|steps|both [threads [64,1024]]]
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

from benchmarks import paths

GENERATOR = paths.ROOT / "sia_audit" / "assets" / "synthfaces_attgan64.pt"
TARGET = paths.ROOT / "examples" / "models" / "eyeglasses_biased.pt"
BATCH = 32
PROBE_COUNTS, PROBE_STEPS = (64, 128, 256, 512, 1024), 5
STEP_COUNTS, STEP_PROBES = (50, 100, 200), 32


def _rss_mb() -> float:
    # Linux reports ru_maxrss in KiB.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _current_rss_mb() -> float:
    """Resident memory now (not the peak), from /proc/self/statm, in MiB."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def child(count: int, steps: int, threads: int) -> None:
    """One configuration: load, audit, print a JSON line with times and peak RSS."""
    t0 = time.perf_counter()
    import torch

    if threads:
        torch.set_num_threads(threads)
    from sia_audit.attacks import AttackConfig
    from sia_audit.audit import AuditConfig, audit_batches, measure
    from sia_audit.generators.checkpoint import load_generator
    from sia_audit.probes.synthetic import SynthProbes
    from sia_audit.targets.loading import load_target

    generator = load_generator(GENERATOR)
    target = load_target(str(TARGET))
    probes = SynthProbes(count=count, seed=0)
    setup = time.perf_counter() - t0
    rss_loaded = _rss_mb()
    config = AuditConfig(
        attack=AttackConfig(steps=steps, eta_x=1 / 255, eta_a=1 / 255),
        batch_size=BATCH,
        device="cpu",
    )
    # audit() is audit_batches() then measure(); called in two parts so that the peak RSS
    # of the attack stage (per batch: must not grow with probes) is read before the metrics'.
    t1 = time.perf_counter()
    # Resident memory after every batch (read from the progress callback, i.e. before the
    # audit's own malloc_trim of that batch, sia_audit/memory.py): growth with the batch count
    # would show here.
    after_batch: list[float] = []

    def on_batch(*_: object) -> None:
        after_batch.append(_current_rss_mb())

    numbers = audit_batches(probes, generator, target, config, progress=on_batch)
    attack_s, rss_attack = time.perf_counter() - t1, _rss_mb()
    measure(probes, generator, target, config, numbers, attack_s)
    seconds = time.perf_counter() - t1
    row = {
        "probes": count,
        "steps": steps,
        "setup_s": setup,
        "audit_s": seconds,
        "attack_s": attack_s,
        "rss_loaded_mb": rss_loaded,
        "peak_rss_attack_mb": rss_attack,
        "peak_rss_mb": _rss_mb(),
        "rss_after_batch_mb": [round(m) for m in after_batch],
    }
    print(json.dumps(row))


def run_one(count: int, steps: int, threads: int) -> dict[str, float]:
    cmd = [sys.executable, "-m", "benchmarks.speed.scaling", "--child"]
    cmd += [str(count), str(steps), str(threads)]
    done = subprocess.run(cmd, capture_output=True, text=True, cwd=paths.ROOT, check=False)
    if done.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed:\n{done.stderr}")
    row = json.loads(done.stdout.strip().splitlines()[-1])
    row["load1"] = os.getloadavg()[0]
    print(json.dumps(row), flush=True)  # raw rows as they come: a timeout keeps the finished ones
    return row


def fit(xs: list[float], ys: list[float]) -> tuple[float, float]:
    """Least-squares (intercept, slope) of ys on xs."""
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    slope = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sum(
        (x - mx) ** 2 for x in xs
    )
    return my - slope * mx, slope


def report(title: str, rows: list[dict[str, float]]) -> None:
    """Markdown table of one sweep and the fitted per-image-step cost of the attack stage."""
    print(f"\n### {title} (batch {BATCH})\n")
    print(
        "| probes | steps | audit s | attack s | attack ms per image-step | peak RSS after "
        "attack MB | peak RSS after metrics MB | RSS after load MB | load avg |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        per = r["attack_s"] / (r["probes"] * r["steps"]) * 1e3
        print(
            f"| {r['probes']} | {r['steps']} | {r['audit_s']:.1f} | {r['attack_s']:.1f} "
            f"| {per:.2f} | {r['peak_rss_attack_mb']:.0f} | {r['peak_rss_mb']:.0f} "
            f"| {r['rss_loaded_mb']:.0f} | {r['load1']:.2f} |"
        )
    if len(rows) < 2:
        return
    image_steps = [r["probes"] * r["steps"] for r in rows]
    intercept, slope = fit(image_steps, [r["attack_s"] for r in rows])
    attack_peaks = [r["peak_rss_attack_mb"] for r in rows]
    peaks = [r["peak_rss_mb"] for r in rows]
    print(
        f"\nfit: attack seconds = {intercept:.2f} + {slope * 1e3:.3f} ms x (probes x steps); "
        f"peak RSS after attack {min(attack_peaks):.0f}-{max(attack_peaks):.0f} MB, after "
        f"metrics {min(peaks):.0f}-{max(peaks):.0f} MB"
    )


def main(which: str, threads: int, counts: tuple[int, ...]) -> None:
    print(
        f"load average at start {os.getloadavg()}, {os.cpu_count()} CPUs, "
        f"torch threads {threads or 'default'}"
    )
    t0 = time.perf_counter()
    if which in ("probes", "both"):
        rows = [run_one(n, PROBE_STEPS, threads) for n in counts or PROBE_COUNTS]
        report(f"Probe count at {PROBE_STEPS} steps", rows)
    if which in ("steps", "both"):
        rows = [run_one(STEP_PROBES, t, threads) for t in STEP_COUNTS]
        report(f"Steps at {STEP_PROBES} probes", rows)
    print(f"\nload average at end {os.getloadavg()}; sweep took {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--child":
        child(int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]))
    else:
        args = sys.argv[1:]
        counts = tuple(int(n) for n in args[2].split(",")) if len(args) > 2 else ()
        main(args[0] if args else "both", int(args[1]) if len(args) > 1 else 0, counts)
