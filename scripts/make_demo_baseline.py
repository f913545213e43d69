"""Audit the demo's control model and keep its report as the demo's baseline.

`sia-audit demo` audits the biased model as a pull request on the control: its regression gates
compare it with this report, the control's own audit under the same policy (same probes,
generator and attack), so the demo shows the pull-request gate without attacking twice. The
report is kept without its gallery (the images a baseline never reads). Re-run this whenever
the demo's policy, probes, generator or control model change: the demo refuses a baseline made
on other inputs (exit 2), and tests/commands/test_demo_models.py checks that this one still
matches a fresh audit of the control.

    .venv/bin/python scripts/make_demo_baseline.py
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sia_audit.fsutil import sha256_of as sha256

ROOT = Path(__file__).resolve().parents[1]
MODEL = Path("examples/models/eyeglasses_control.pt")
POLICY = Path("policies/fairness.yaml")
OUT = ROOT / "examples" / "models" / "eyeglasses_control.report.json"
LOG = ROOT / "docs" / "logs" / "make_demo_baseline.log"


def main() -> None:
    t0 = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "sia_audit", "run", str(MODEL), "--policy", str(POLICY),
               "--out", tmp, "--format", "json", "--device", "cpu", "--quiet",
               "--threads", "1"]  # fmt: skip
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=False)
        if done.returncode != 0:  # the control passes its policy; anything else is wrong
            raise SystemExit(f"sia-audit run exited {done.returncode}: {done.stderr.strip()}")
        report = json.loads((Path(tmp) / "report.json").read_text(encoding="utf-8"))
    report["gallery"] = []
    tmp_out = OUT.with_suffix(".tmp")
    tmp_out.write_text(json.dumps(report, sort_keys=True) + "\n", encoding="utf-8")
    tmp_out.replace(OUT)
    prov = report["provenance"]
    lines = [
        f"{time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime())} UTC: sia-audit {' '.join(cmd[3:7])}",
        f"model sha256 {sha256(ROOT / MODEL)}, policy sha256 {sha256(ROOT / POLICY)}",
        f"generator sha256 {prov['generator_sha256']}, probes {prov['probes']}, "
        f"manifest sha256 {prov['probe_manifest_sha256']}, torch {prov['torch_version']}",
        f"verdict {report['verdict']}; wrote {OUT.relative_to(ROOT)} "
        f"({OUT.stat().st_size} bytes, sha256 {sha256(OUT)}) in {time.time() - t0:.0f} s",
    ]
    LOG.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
