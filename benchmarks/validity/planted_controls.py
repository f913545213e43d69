"""Do the policy's w and s thresholds still fail no truthful model? The suite's controls, re-made.

`policies/fairness.yaml` calibrates its w and s gates on truthful Eyeglasses classifiers: the
demo control and the planted-truth suite's controls (benchmarks/validity/planted_suite.py).
Those are trained through the shipped generator (half of every batch is its reconstructions) and
audited through it, so a new generator needs them re-made before the thresholds can be trusted.
The whole suite is hours of this machine; its controls are minutes. This trains the suite's
controls (same recipe: `planted_suite.recipe(arch, label, None, ...)`) with the shipped
generator, audits each with `sia-audit run --policy policies/fairness.yaml` (the real gates),
and prints per control its verdict, the gates it fails, and the largest low end of w and of s
over the measurable attributes: the figures the thresholds' comments quote.

With `--plants` it then does the other half: the suite's realistic plants of the same labels and
architectures (from the suite's own cache, benchmarks/.cache/planted/, trained there by
planted_suite.py or here when missing), each audited under the policy, and prints whether the w
or the s gate on the planted attribute fails: what the thresholds still catch.

    PYTHONPATH=. nice .venv/bin/python -m benchmarks.validity.planted_controls \
        [--label Eyeglasses ...] [--arch cnn] [--plants]

Cached in benchmarks/.cache/planted_controls/ (stamped with the generator); log:
docs/logs/planted_controls.log.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import torch

from benchmarks import paths
from benchmarks.cache_stamp import check_generator
from benchmarks.validity import planted_suite
from scripts.training import logger

CACHE = paths.CACHE / "planted_controls"
SUITE_CACHE = planted_suite.CACHE  # the suite's own models (read before main() redirects it)
LOG = paths.LOGS / "planted_controls.log"
POLICY = paths.ROOT / "policies" / "fairness.yaml"


def largest_low(gates: list[dict], prefix: str) -> tuple[str, float]:
    """The gate named prefix[...] with the largest interval low end: (attribute, low)."""
    rows = [(g["gate"][len(prefix) : -1], g["low"]) for g in gates if g["gate"].startswith(prefix)]
    return max(rows, key=lambda r: r[1]) if rows else ("-", float("nan"))


def audit(model: Path, threads: int) -> dict:
    """report.json of `sia-audit run` on the model under policies/fairness.yaml (cached)."""
    out = model.with_suffix(".report")
    report = out / "report.json"
    if not report.exists():
        cmd = [sys.executable, "-m", "sia_audit", "run", str(model), "--policy", str(POLICY),
               "--out", str(out), "--format", "json", "--device", "cpu", "--quiet",
               "--threads", str(threads)]  # fmt: skip
        done = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if done.returncode not in (0, 1):
            raise SystemExit(f"{model.name}: sia-audit run exited {done.returncode}: "
                             f"{done.stderr.strip().splitlines()[-1:]}")  # fmt: skip
    return json.loads(report.read_text())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--label", choices=sorted(planted_suite.SHORTCUTS), action="append")
    parser.add_argument("--arch", choices=planted_suite.ARCHS, action="append")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--plants", action="store_true", help="also the suite's plants")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    check_generator(CACHE)
    planted_suite.CACHE = CACHE  # train() keeps its models under the module's cache
    log = logger(LOG)
    for label in args.label or ["Eyeglasses"]:
        for arch in args.arch or list(planted_suite.ARCHS):
            rec = planted_suite.recipe(arch, label, None, planted_suite.LEVELS[0])
            path, figures = planted_suite.train(rec, log)
            data = audit(path, args.threads)
            gates = data["gates"]
            failed = [g["gate"] for g in gates if g["status"] not in ("pass", "skipped")]
            w_attr, w_low = largest_low(gates, "weighted_sensitivity[")
            s_attr, s_low = largest_low(gates, "sensitivity s[")
            log(f"{rec.name}: clean acc {figures['clean_acc']:.3f}, verdict {data['verdict']}, "
                f"failed {failed or '-'}; largest low end: w {w_attr} {w_low:.3f}, "
                f"s {s_attr} {s_low:.3f}")  # fmt: skip
    if args.plants:
        caught_plants(args.label or ["Eyeglasses"], args.arch or list(planted_suite.ARCHS),
                      args.threads, log)  # fmt: skip


def caught_by(gates: list[dict], attr: str) -> tuple[dict, dict, bool]:
    """The w and s gates on `attr` ({} where the policy has none) and whether either failed."""
    by_name = {g["gate"]: g for g in gates}
    w = by_name.get(f"weighted_sensitivity[{attr}]", {})
    s = by_name.get(f"sensitivity s[{attr}]", {})
    return w, s, "fail" in (w.get("status"), s.get("status"))


def caught_plants(labels: list[str], archs: list[str], threads: int, log) -> None:  # noqa: ANN001
    """Per realistic plant of the suite: does the policy's w or s gate on its attribute fail?"""
    planted_suite.CACHE = SUITE_CACHE
    check_generator(SUITE_CACHE)
    caught = total = 0
    for label in labels:
        for arch in archs:
            for attr in planted_suite.SHORTCUTS[label]:
                path, figures, _ = planted_suite.tune(arch, label, attr, log)
                if not planted_suite.realistic(figures, attr):
                    log(f"{path.stem}: not realistic, not counted")
                    continue
                w, s, hit = caught_by(audit(path, threads)["gates"], attr)
                caught, total = caught + hit, total + 1
                log(f"{path.stem}: planted {attr}: w {w.get('status')} (low {w.get('low', 0):.3f}),"
                    f" s {s.get('status')} (low {s.get('low', 0):.3f}): "
                    f"{'caught' if hit else 'MISSED'}")  # fmt: skip
    log(f"plants caught by the policy's w or s gate on the planted attribute: {caught} of {total}")


if __name__ == "__main__":
    main()
