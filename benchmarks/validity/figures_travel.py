"""Which figures of an audit can differ between CPUs with the same torch, and by how much.

The same audit (the demo: policies/fairness.yaml on the biased model) runs in fresh processes
under what differs between machines: the SIMD kernels torch dispatches to
(ATEN_CPU_CAPABILITY=avx512, avx2, default) and the number of threads (1, 2), which change the
order of floating-point reductions. Each run's report.json is compared with the first's:
verdicts and gate statuses, the attributes' ranks, and the largest difference of every figure.

    PYTHONPATH=. .venv/bin/python -m benchmarks.validity.figures_travel

writes benchmarks/.cache/figures_travel/ and prints the table docs/figures-travel.md records.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from typing import Any

from benchmarks import paths

CACHE = paths.CACHE / "figures_travel"
MODEL = paths.ROOT / "examples" / "models" / "eyeglasses_biased.pt"
POLICY = paths.ROOT / "policies" / "fairness.yaml"
SETTINGS = (
    ("avx512, 1 thread", {"ATEN_CPU_CAPABILITY": "avx512"}, 1),
    ("avx512, 2 threads", {"ATEN_CPU_CAPABILITY": "avx512"}, 2),
    ("avx2, 1 thread", {"ATEN_CPU_CAPABILITY": "avx2"}, 1),
    ("default (no SIMD), 1 thread", {"ATEN_CPU_CAPABILITY": "default"}, 1),
)


def audit(name: str, env: dict[str, str], threads: int) -> dict[str, Any]:
    out = CACHE / name.replace(" ", "-").replace(",", "").replace("(", "").replace(")", "")
    if not (out / "report.json").is_file():
        cmd = [sys.executable, "-m", "sia_audit", "run", str(MODEL), "--policy", str(POLICY),
               "--out", str(out), "--format", "json", "--quiet", "--device", "cpu",
               "--threads", str(threads)]  # fmt: skip
        t0 = time.time()
        done = subprocess.run(
            cmd, env={**os.environ, **env, "PYTHONPATH": str(paths.ROOT)}, capture_output=True,
            text=True,
        )  # fmt: skip
        if done.returncode not in (0, 1):
            raise SystemExit(f"{name}: exit {done.returncode}: {done.stderr.strip()[-400:]}")
        print(f"{name}: {time.time() - t0:.0f} s", flush=True)
    return json.loads((out / "report.json").read_text())


def figures(report: dict[str, Any]) -> dict[str, float]:
    """Every figure's value (and interval ends) by a flat name."""
    flat: dict[str, float] = {}

    def walk(prefix: str, node: Any) -> None:
        if isinstance(node, dict) and {"value", "low", "high"} <= set(node):
            for end in ("value", "low", "high"):
                flat[f"{prefix}.{end}"] = float(node[end])
        elif isinstance(node, dict):
            for k, v in node.items():
                walk(f"{prefix}.{k}" if prefix else str(k), v)

    walk("", report["figures"])
    return flat


def kind(name: str) -> str:
    """The figure family a flat name belongs to, for the summary table."""
    parts = name.split(".")
    if parts[0] == "attacks":
        return f"attacks.{parts[2]}"
    return parts[0] if parts[0] != "sensitivity" else f"sensitivity.{parts[1]}"


def ranked(report: dict[str, Any]) -> list[str]:
    s = report["figures"]["sensitivity"]["s"]
    return sorted(s, key=lambda a: -s[a]["value"])


def main() -> None:
    argparse.ArgumentParser(description=__doc__).parse_args()
    CACHE.mkdir(parents=True, exist_ok=True)
    reports = {name: audit(name, env, threads) for name, env, threads in SETTINGS}
    (ref_name, ref), *others = reports.items()
    ref_fig = figures(ref)
    print(f"\nreference: {ref_name}")
    for name, rep in others:
        same_verdict = rep["verdict"] == ref["verdict"]
        same_gates = [g["status"] for g in rep["gates"]] == [g["status"] for g in ref["gates"]]
        same_top3 = ranked(rep)[:3] == ranked(ref)[:3]
        fig = figures(rep)
        worst: dict[str, float] = {}
        for key, value in ref_fig.items():
            family = kind(key)
            worst[family] = max(worst.get(family, 0.0), abs(fig.get(key, float("nan")) - value))
        bits = sum(fig[k] != v for k, v in ref_fig.items())
        print(f"\n{name}: verdict same {same_verdict}, gate statuses same {same_gates}, top 3 of s "
              f"same {same_top3}, {bits} of {len(ref_fig)} figure values differ")  # fmt: skip
        for family, diff in sorted(worst.items()):
            print(f"  {family:40s} max |difference| {diff:.3g}")


if __name__ == "__main__":
    main()
