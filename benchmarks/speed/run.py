"""Wall time of the README's first command after setup (`sia-audit demo`) and where it goes.

Runs the command as a user does (a fresh process), then reads the split the run records in its
report.json: load (target, generator, probes), attack, metrics, gates. The rest of that process
(interpreter start-up, imports, writing the reports and the contact sheet) is then split by
separate fresh processes, each best of a few: `python -c pass` (start-up), `import
sia_audit.commands.demo` (what the demo imports before it works, torch included), and a
render-only child that re-renders the demo's report.json into HTML, PDF and Markdown and draws
the contact sheet, timing the first render (lazy imports such as WeasyPrint, fonts) and a
second one. Run: PYTHONPATH=. .venv/bin/python -m benchmarks.speed.run
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

GOAL_SECONDS = 60.0
REPEATS = 3


def render_child(report_json: Path, out: Path) -> None:
    """In a fresh process: import, then render the reports twice and the contact sheet once."""
    t0 = time.perf_counter()
    import sia_audit.commands.demo  # noqa: F401 - the demo's own imports, timed apart
    from sia_audit.formats import json_report
    from sia_audit.formats.interface import render_all
    from sia_audit.formats.registry import FORMATS
    from sia_audit.fsutil import atomic_write_files
    from sia_audit.probes.synthfaces.contact_sheet import contact_sheet

    times = {"import": time.perf_counter() - t0}
    formats = tuple(f for f in FORMATS.values() if f.name != "json")
    linked = tuple(f.filename for f in FORMATS.values())
    for key in ("first render", "second render"):
        t = time.perf_counter()
        report = json_report.load(report_json, linked)
        atomic_write_files(out, render_all(report, formats))
        times[key] = time.perf_counter() - t
    t = time.perf_counter()
    contact_sheet(seed=0).save(out / "synthfaces.png")
    times["contact sheet"] = time.perf_counter() - t
    print(json.dumps(times))


def best_wall(cmd: list[str]) -> float:
    """Best wall time of `cmd` in fresh processes over REPEATS runs."""
    best = float("inf")
    for _ in range(REPEATS):
        t = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True, cwd=paths.ROOT)
        best = min(best, time.perf_counter() - t)
    return best


def run_demo(out: Path) -> tuple[float, dict[str, float], int]:
    exe = Path(sys.executable).with_name("sia-audit")
    t0 = time.perf_counter()
    done = subprocess.run(
        [str(exe), "demo", "--out", str(out)], capture_output=True, text=True, cwd=paths.ROOT
    )
    total = time.perf_counter() - t0
    if not (out / "report.json").is_file():
        sys.exit(f"demo wrote no report (exit {done.returncode}): {done.stderr.strip()}")
    return total, json.loads((out / "report.json").read_text())["timings"], done.returncode


def render_split(report_json: Path, out: Path) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-m", "benchmarks.speed.run", "--render", str(report_json), str(out)],
        capture_output=True,
        text=True,
        cwd=paths.ROOT,
    )
    if done.returncode != 0:
        sys.exit(f"the render-only child failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def row(name: str, seconds: float, total: float, note: str = "") -> None:
    print(f"| {name} | {seconds:.2f} | {seconds / total:.1%} | {note} |")


def main() -> None:
    print(f"load average at start {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "demo-out"
        total, timings, code = run_demo(out)
        startup = best_wall([sys.executable, "-c", "pass"])
        imports = best_wall([sys.executable, "-c", "import sia_audit.commands.demo"]) - startup
        rendered = render_split(out / "report.json", Path(tmp) / "render-out")
    audited = timings["wall"]
    inside = {k: timings[k] for k in ("load", "editability", "attack", "metrics") if k in timings}
    print(f"sia-audit demo: exit {code}, {total:.1f} s wall (goal < {GOAL_SECONDS:.0f} s)\n")
    print("| part | seconds | share of the demo | how measured |")
    print("|---|---:|---:|---|")
    row("interpreter start-up", startup, total, "`python -c pass`, best of 3")
    row("import sia_audit.commands.demo", imports, total, "fresh process, best of 3, - start-up")
    for name, seconds in inside.items():
        row(name, seconds, total, "report.json timings")
    row("gates and other", audited - sum(inside.values()), total, "report.json wall - parts")
    rest = total - audited - startup - imports
    row("reports + contact sheet + exit", rest, total, "demo wall - everything above")
    print(
        f"\nrender-only child (fresh process): import {rendered['import']:.2f} s, first "
        f"html+pdf+md render {rendered['first render']:.2f} s (includes lazy imports, fonts), "
        f"second {rendered['second render']:.2f} s, contact sheet "
        f"{rendered['contact sheet']:.2f} s"
    )
    print(f"load average at end {os.getloadavg()}")


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--render":
        render_child(Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        main()
