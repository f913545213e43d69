"""The GPU check: correctness on CUDA, throughput at the paper's shapes, torchrun.

One run writes OUT/gpu_check.json (every figure; FORMAT_VERSION and a meta block) and
OUT/gpu_check.log (readable), plus the report.json of the CPU and device demo runs. Sections,
each with its own time budget (docs/performance.md, "GPU"):

1. correctness (benchmarks/gpu/correctness.py): the demo audit on CUDA against the CPU, and
   bf16 autocast, torch.compile and CUDA graphs against plain CUDA;
2. throughput (benchmarks/gpu/throughput.py): probe-steps/s of AttGAN 128 + ResNet-50 224 at a
   few batch sizes, fp32 and bf16, eager and compiled; peak memory; one whole-audit batch at
   200 steps, projected to 10,000 probes;
3. distributed (benchmarks/gpu/distributed.py): torchrun with two ranks, NCCL (and gloo).

`--dry-run` runs the same code on the CPU at toy sizes in seconds (the test suite runs it):
the "device" is the CPU, NCCL becomes gloo, and what needs CUDA is recorded as skipped.
Start it through benchmarks/gpu/check.sh, which sets up the device machine's Python first and
then runs `python -m benchmarks.gpu.check --out OUT ...` from the repository root.
Exit: 0 every item that ran passed, 1 an item failed or broke, 2 could not run.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchmarks import paths
from benchmarks.gpu.compare import TOLERANCES

DEMO_TARGET = paths.ROOT / "examples" / "models" / "eyeglasses_biased.pt"
DEMO_POLICY = paths.ROOT / "policies" / "fairness.yaml"
SECTIONS = ("correctness", "throughput", "distributed")  # benchmarks/gpu/<name>.py each
SHARES = {"correctness": 0.45, "throughput": 0.40, "distributed": 0.15}
GPU_BUDGET, DRY_BUDGET = 330.0, 240.0  # seconds; check.sh's hard limit is 6 minutes
# Import name -> distribution: what the check imports (sia_audit's run path and torchvision).
# WeasyPrint and onnxruntime are not needed: reports are written as JSON only, no ONNX check.
REQUIRED = {
    "torch": "torch",
    "torchvision": "torchvision",
    "numpy": "numpy",
    "PIL": "pillow",
    "click": "click",
    "pydantic": "pydantic",
    "yaml": "pyyaml",
    "jinja2": "jinja2",
    "pytorch_msssim": "pytorch-msssim",
}
# Toy sizes of the demo policy for a dry run: two batches of two, so two ranks get one each.
TOY_POLICY = {
    ("probes", "count"): 4,
    ("attack", "steps"): 2,
    ("attack", "batch_size"): 2,
    ("bootstrap", "resamples"): 50,
}


@dataclasses.dataclass
class Context:
    """What every section reads, and the demo reports they share (section 1 writes them)."""

    dry_run: bool
    device: str  # "cuda", or "cpu" in a dry run
    target: Path  # the demo model
    policy: Path  # the demo policy, or its toy copy in a dry run
    out: Path
    work: Path  # a temporary folder for torchrun's reports and the toy policy
    threads: int  # CPU threads of every CPU run, torchrun's ranks included
    reports: dict[str, dict[str, Any]] = dataclasses.field(default_factory=dict)


def missing_packages(required: dict[str, str] = REQUIRED) -> list[str]:
    """Distributions whose module cannot be imported here, in `required` order."""
    return [dist for module, dist in required.items() if importlib.util.find_spec(module) is None]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="benchmarks/gpu/check.sh", description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, required=True, help="folder for the JSON and the log")
    p.add_argument("--dry-run", action="store_true", help="CPU, toy sizes, seconds")
    p.add_argument(
        "--budget",
        type=float,
        default=None,
        help=f"total seconds [{GPU_BUDGET:g} on a GPU, {DRY_BUDGET:g} dry]",
    )
    p.add_argument(
        "--sections", default=",".join(SECTIONS), help="comma-separated subset, in this order"
    )
    p.add_argument(
        "--threads", type=int, default=None, help="CPU threads of every CPU run [dry 1, GPU 8]"
    )
    args = p.parse_args(argv)
    chosen = [s.strip() for s in args.sections.split(",") if s.strip()]
    unknown = sorted(set(chosen) - set(SECTIONS))
    if unknown or not chosen:
        p.error(f"--sections: unknown {', '.join(unknown) or '(none given)'}; use {SECTIONS}")
    args.sections = tuple(s for s in SECTIONS if s in chosen)
    return args


def toy_policy(work: Path) -> Path:
    """The demo policy at toy sizes, written to `work` (the dry run's policy file)."""
    import yaml

    data = yaml.safe_load(DEMO_POLICY.read_text(encoding="utf-8"))
    for (block, key), value in TOY_POLICY.items():
        data[block][key] = value
    path = work / "fairness-toy.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def git_commit() -> str | None:
    try:
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=paths.ROOT, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() or None


def meta(args: argparse.Namespace, threads: int, budget: float) -> dict[str, Any]:
    import torch
    import torchvision

    cuda = torch.cuda.is_available()
    return {
        "date_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "mode": "dry-run" if args.dry_run else "gpu",
        "measured_on_gpu": cuda and not args.dry_run,
        "argv": sys.argv[1:],
        "git_commit": git_commit(),
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "cuda": torch.version.cuda,
        "gpus": [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
        if cuda
        else [],
        "cudnn": torch.backends.cudnn.version() if cuda else None,
        # Users' CUDA audits run with torch's defaults: TF32 in cuDNN convolutions, not in matmul.
        "tf32_cudnn": torch.backends.cudnn.allow_tf32,
        "tf32_matmul": torch.backends.cuda.matmul.allow_tf32,
        "cpu_count": os.cpu_count(),
        "cpu_threads": threads,
        "budget_s": budget,
        "sections": list(args.sections),
        "tolerances": {name: dataclasses.asdict(t) for name, t in TOLERANCES.items()},
    }


def summarise(data: dict[str, Any]) -> dict[str, Any]:
    sections = data["sections"]
    by_status: dict[str, list[str]] = {}
    for name, section in sections.items():
        for item, entry in section["items"].items():
            by_status.setdefault(entry["status"], []).append(f"{name}/{item}")
    correctness = sections.get("correctness", {}).get("items", {})
    collectives = sections.get("distributed", {}).get("items", {}).get("collectives", {})
    ran = [e for e in correctness.values() if e["status"] in ("ok", "failed")]
    return {
        "completed": all(s["status"] == "done" for s in sections.values()),
        "correctness_ok": all(e["status"] == "ok" for e in ran) if ran else None,
        "failed": by_status.get("failed", []),
        "errors": by_status.get("error", []),
        "stopped": by_status.get("stopped", []),
        "skipped": by_status.get("skipped", []),
        "two_ranks_on_one_device": collectives.get("two_ranks_on_one_device"),
        "throughput": sections.get("throughput", {}).get("summary"),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    missing = missing_packages(REQUIRED)
    if missing:
        print(
            f"gpu_check: {sys.executable} lacks {', '.join(missing)}; use a Python with torch "
            "and torchvision (PYTHON=...) and carry the rest as wheels "
            "(bash benchmarks/gpu/check.sh --fetch-wheels, then carry .whl)",
            file=sys.stderr,
        )
        return 2
    import torch

    if not args.dry_run and not torch.cuda.is_available():
        print(
            "gpu_check: no CUDA device here; use --dry-run on a machine without a GPU",
            file=sys.stderr,
        )
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    from benchmarks.gpu.budget import Recorder, Section, Terminated, on_sigterm

    threads = args.threads or (1 if args.dry_run else max(1, min(8, (os.cpu_count() or 2) // 2)))
    torch.set_num_threads(threads)  # torchrun's ranks get the same: bit-equal CPU kernels
    budget = args.budget or (DRY_BUDGET if args.dry_run else GPU_BUDGET)
    recorder = Recorder(args.out, meta(args, threads, budget))
    log = recorder.log
    log.info(
        "gpu_check %s: %s", recorder.data["meta"]["mode"], recorder.data["meta"]["gpus"] or "CPU"
    )
    on_sigterm()
    started, carried = time.monotonic(), 0.0
    try:
        with tempfile.TemporaryDirectory(prefix="gpu-check-") as tmp:
            work = Path(tmp)
            ctx = Context(
                dry_run=args.dry_run,
                device="cpu" if args.dry_run else "cuda",
                target=DEMO_TARGET,
                policy=toy_policy(work) if args.dry_run else DEMO_POLICY,
                out=args.out,
                work=work,
                threads=threads,
            )
            shares = sum(SHARES[s] for s in args.sections)
            for name in args.sections:
                left = budget - (time.monotonic() - started)
                own = min(budget * SHARES[name] / shares, left)
                section = Section(recorder, name, own, min(carried, max(left - own, 0.0)))
                runner = importlib.import_module(f"benchmarks.gpu.{name}")
                runner.run_section(section, ctx)
                carried = section.close()
    except Terminated:
        log.info("terminated from outside: the JSON holds everything finished so far")
        recorder.data["meta"]["terminated"] = True
        for record in recorder.data["sections"].values():
            if record["status"] == "running":
                record["status"] = "terminated"
    recorder.data["summary"] = summarise(recorder.data)
    recorder.data["meta"]["seconds"] = round(time.monotonic() - started, 1)
    recorder.save()
    s = recorder.data["summary"]
    log.info(
        "done in %.0f s: correctness ok %s; failed %s; errors %s; stopped %s; skipped %d",
        recorder.data["meta"]["seconds"],
        s["correctness_ok"],
        s["failed"] or "none",
        s["errors"] or "none",
        s["stopped"] or "none",
        len(s["skipped"]),
    )
    log.info("figures: %s", recorder.path)
    recorder.close()
    return 1 if s["failed"] or s["errors"] else 0


if __name__ == "__main__":
    sys.exit(main())
