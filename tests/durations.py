"""Write tests/durations.json from a pytest JUnit XML report: the seconds each module took.

    .venv/bin/python -m pytest --junitxml=/tmp/junit.xml
    .venv/bin/python -m tests.durations /tmp/junit.xml

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


def main(argv: list[str]) -> None:
    if len(argv) != 1:
        raise SystemExit("usage: python -m tests.durations JUNIT.xml")
    seconds = module_seconds(Path(argv[0]))
    DURATIONS.write_text(json.dumps(seconds, indent=1, sort_keys=True) + "\n")
    print(f"{DURATIONS}: {len(seconds)} modules, {sum(seconds.values()):.0f} s in all")


if __name__ == "__main__":
    main(sys.argv[1:])
