"""Write tests/durations.json from pytest JUnit XML reports: the seconds each module took.

    .venv/bin/python -m pytest --junitxml=/tmp/junit.xml
    .venv/bin/python -m tests.durations /tmp/junit.xml

or, timed as scripts/check.sh runs them (each shard on one thread, beside the other), one
report per shard:

    for i in 0 1; do OMP_NUM_THREADS=1 SIA_TEST_SHARD=$i/2 .venv/bin/python -m pytest \
        --junitxml=/tmp/junit$i.xml & done; wait
    .venv/bin/python -m tests.durations /tmp/junit0.xml /tmp/junit1.xml

The shards (tests/sharding.py) are balanced by these weights; a stale file only balances them
less well, it never drops or repeats a test.
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from tests.sharding import DURATIONS


def module_seconds(junit: Path) -> dict[str, float]:
    """Seconds per module path (tests/x/test_y.py), setup and teardown included."""
    out: dict[str, float] = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        dotted = case.get("classname", "")
        # "tests.x.test_y" or "tests.x.test_y.TestClass": the module is the test_* part
        parts = dotted.split(".")
        cut = max(i for i, p in enumerate(parts) if p.startswith("test")) + 1
        module = "/".join(parts[:cut]) + ".py"
        out[module] = out.get(module, 0.0) + float(case.get("time", 0.0))
    return {m: round(s, 1) for m, s in sorted(out.items())}


def every_module_seconds(junits: list[Path]) -> dict[str, float]:
    """module_seconds of several reports (the shards of one run) together."""
    out: dict[str, float] = {}
    for junit in junits:
        for module, seconds in module_seconds(junit).items():
            out[module] = round(out.get(module, 0.0) + seconds, 1)
    return dict(sorted(out.items()))


def main(argv: list[str]) -> None:
    if not argv:
        raise SystemExit("usage: python -m tests.durations JUNIT.xml [JUNIT.xml ...]")
    seconds = every_module_seconds([Path(a) for a in argv])
    DURATIONS.write_text(json.dumps(seconds, indent=1, sort_keys=True) + "\n")
    print(f"{DURATIONS}: {len(seconds)} modules, {sum(seconds.values()):.0f} s in all")


if __name__ == "__main__":
    main(sys.argv[1:])
