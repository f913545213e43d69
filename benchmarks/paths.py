"""Where the benchmarks read and write: the repository, their cache and their logs.

Every benchmark takes its paths from here rather than from its own file's place, so that a
script can move between the benchmark folders without its cache or its log moving with it:
a script keeps its own subfolder of CACHE and its own log file in LOGS by name.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]  # the repository (benchmarks/ is one level down)
CACHE = ROOT / "benchmarks" / ".cache"  # gitignored: models, attacks, audits, resumable state
LOGS = ROOT / "docs" / "logs"  # the timestamped logs the docs cite, in git
