"""Splitting the suite into shards that run side by side (scripts/check.sh runs two).

A 2-core runner spends much of a single pytest process's time with one core idle: importing
torch in subprocesses, reading files, waiting on a child. Two processes, each given about half
of the work, use both. A shard is a set of whole test modules, so that module-scoped fixtures
run once; modules that share a session fixture of this suite's own (a real audit made once and
read by several modules) go to the same shard, so that it too runs once.

The split is the longest-processing-time rule: modules, heaviest first, each to the shard with
the least work so far, by the seconds each module took on an earlier run (tests/durations.json,
refreshed with `python -m tests.durations JUNIT.xml`); a module missing there counts as
DEFAULT_SECONDS. The split is a pure function of the collected modules and the weights, so every
shard computes the same one, and each test runs in exactly one shard.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path

DURATIONS = Path(__file__).with_name("durations.json")
DEFAULT_SECONDS = 2.0
ENV = "SIA_TEST_SHARD"  # "I/N": run shard I (0-based) of N


def parse(value: str) -> tuple[int, int]:
    """`I/N` as (I, N); a ValueError that says what is wrong otherwise."""
    try:
        index, count = (int(part) for part in value.split("/"))
    except ValueError:
        raise ValueError(f"{ENV}={value!r}: expected I/N, e.g. 0/2") from None
    if not 0 <= index < count:
        raise ValueError(f"{ENV}={value!r}: I must lie in 0..N-1")
    return index, count


def groups(shared: Mapping[str, Iterable[str]]) -> list[list[str]]:
    """Modules joined where they share a fixture: `shared` maps each module to the names of the
    suite's session fixtures it uses. Each group sorted, groups in the order of their first
    module."""
    parent = {module: module for module in shared}

    def root(m: str) -> str:
        while parent[m] != m:
            parent[m] = parent[parent[m]]
            m = parent[m]
        return m

    first_user: dict[str, str] = {}
    for module in sorted(shared):
        for fixture in shared[module]:
            other = first_user.setdefault(fixture, module)
            a, b = root(module), root(other)
            if a != b:
                parent[max(a, b)] = min(a, b)
    joined: dict[str, list[str]] = {}
    for module in sorted(shared):
        joined.setdefault(root(module), []).append(module)
    return list(joined.values())


def assign(
    shared: Mapping[str, Iterable[str]], seconds: Mapping[str, float], count: int
) -> dict[str, int]:
    """Each module's shard: groups, heaviest first (ties by name), each to the lightest shard
    (ties to the lowest index)."""
    weighted = [(sum(seconds.get(m, DEFAULT_SECONDS) for m in g), g) for g in groups(shared)]
    weighted.sort(key=lambda wg: (-wg[0], wg[1][0]))
    load = [0.0] * count
    out: dict[str, int] = {}
    for weight, group in weighted:
        shard = min(range(count), key=lambda i: (load[i], i))
        load[shard] += weight
        out.update(dict.fromkeys(group, shard))
    return out


def load_seconds(path: Path = DURATIONS) -> dict[str, float]:
    """The weights file, or no weights (every module DEFAULT_SECONDS) when it is missing."""
    if not path.exists():
        return {}
    return {str(k): float(v) for k, v in json.loads(path.read_text()).items()}
