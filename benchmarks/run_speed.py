"""Wall time of the README's first command after setup (`sia-audit demo`) and where it goes.

Runs the command as a user does (a fresh process), then reads the split the run records in its
report.json: load (target, generator, probes), attack, metrics; `write` is the rest of the
process after the audit (gates, reports, contact sheet), `startup` the interpreter and imports.
Run: .venv/bin/python benchmarks/run_speed.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL_SECONDS = 60.0


def main() -> None:
    exe = Path(sys.executable).with_name("sia-audit")
    print(f"load average at start {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "demo-out"
        t0 = time.perf_counter()
        done = subprocess.run(
            [str(exe), "demo", "--out", str(out)], capture_output=True, text=True, cwd=ROOT
        )
        total = time.perf_counter() - t0
        if not (out / "report.json").is_file():
            sys.exit(f"demo wrote no report (exit {done.returncode}): {done.stderr.strip()}")
        timings = json.loads((out / "report.json").read_text())["timings"]
    audited = timings["wall"]
    split = {
        "load": timings["load"],
        "attack": timings["attack"],
        "metrics": timings["metrics"],
        "gates and other": audited - timings["load"] - timings["attack"] - timings["metrics"],
    }
    goal = f"goal < {GOAL_SECONDS:.0f} s"
    print(f"sia-audit demo: exit {done.returncode}, {total:.1f} s wall ({goal})")
    for name, seconds in split.items():
        print(f"  {name:16s} {seconds:6.2f} s  {seconds / total:5.1%}")
    rest = total - audited
    print(f"  {'startup + write':16s} {rest:6.2f} s  {rest / total:5.1%}  (imports, reports, PNG)")
    print(f"load average at end {os.getloadavg()}")


if __name__ == "__main__":
    main()
