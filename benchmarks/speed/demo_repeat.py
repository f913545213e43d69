"""The demo before and after its start and repeat costs were cut, in one run.

Two changes, each measured against what it replaced, in fresh processes, interleaved (round
by round, each setting in turn, so a burst of load on the shared machine hits both alike):

- the import: what the demo imports before its attack (its command module, the audit, the
  contact sheet) as it is now, and with torchvision.transforms imported first, as every
  command's start did before it moved to where images are read; and the command module alone
  (what `sia-audit demo --help` imports: no torch);
- the editability cache: `sia-audit demo` with SIA_AUDIT_CACHE=off (every run measures the
  check, as before) and with a warm cache (a second run of the demo reads it back).

Prints the best of `rounds` for each and the ratios. The demo's threads are torch's default.
Run: PYTHONPATH=. .venv/bin/python -m benchmarks.speed.demo_repeat [rounds]
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import paths

# What the demo imports before its attack: its command module, then (inside the command) the
# audit and the contact sheet. The module alone is what `sia-audit demo --help` imports.
DEMO_IMPORTS = (
    "import sia_audit.commands.demo, sia_audit.app.run, sia_audit.probes.synthfaces.contact_sheet"
)
BEFORE, NOW, HELP = "import, before (torchvision.transforms at start)", "import, now", "--help"
IMPORTS = {
    BEFORE: "import torchvision.transforms\n" + DEMO_IMPORTS,
    NOW: DEMO_IMPORTS,
    HELP: "import sia_audit.commands.demo",
}
COLD, WARM = "demo, cache off (before)", "demo, warm cache (a second run)"


def timed(cmd: list[str], env: dict[str, str]) -> float:
    t = time.perf_counter()
    subprocess.run(cmd, check=False, capture_output=True, cwd=paths.ROOT, env=env)
    return time.perf_counter() - t


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    best: dict[str, float] = {}
    editability: dict[str, float] = {}
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        cache = Path(tmp) / "cache"
        demo = [sys.executable, "-m", "sia_audit", "demo", "--out", str(Path(tmp) / "out")]
        settings = {
            COLD: {**os.environ, "SIA_AUDIT_CACHE": "off"},
            WARM: {**os.environ, "SIA_AUDIT_CACHE": str(cache)},
        }
        timed(demo, settings[WARM])  # fills the cache
        for _ in range(rounds):
            for name, code in IMPORTS.items():
                seconds = timed([sys.executable, "-c", code], dict(os.environ))
                best[name] = min(best.get(name, float("inf")), seconds)
            for name, env in settings.items():
                seconds = timed(demo, env)
                if seconds < best.get(name, float("inf")):
                    best[name] = seconds
                    report = json.loads((Path(tmp) / "out" / "report.json").read_text())
                    editability[name] = report["timings"]["editability"]
    print(f"best of {rounds} interleaved rounds; load average {load:.2f} before, "
          f"{os.getloadavg()[0]:.2f} after; {os.cpu_count()} cores")  # fmt: skip
    for name, seconds in best.items():
        extra = f" (editability {editability[name]:.2f} s)" if name in editability else ""
        print(f"  {name}: {seconds:.2f} s{extra}")
    print(f"  import now / before: {best[NOW] / best[BEFORE]:.2f}x")
    print(f"  demo with a warm cache / off: {best[WARM] / best[COLD]:.2f}x")


if __name__ == "__main__":
    main()
