"""Refuse, before allocating anything, a probe set whose per-probe data would not fit in memory.

An audit keeps a few numbers per probe for every figure (attributes, landmarks, per-attack
results), and the bootstrap holds two (resamples x probes) matrices of 8-byte numbers, which
dominate: at the default 1000 resamples about 16 KB a probe. A probe count in the hundreds of
millions would get the process killed for memory with no message; this says so in one line.
"""

from __future__ import annotations

import os

from sia_audit.errors import ConfigError

# Per probe, besides the bootstrap: attributes, identity, nuisance and 68 landmarks (~190
# float32), and the per-attack results of three attacks (~50 float32 each).
PER_PROBE_DATA = 1_400
BOOTSTRAP_MATRICES = 2  # resample indices (int64) and their counts (float64)
SHARE = 0.5  # of the memory available now: the attack's own working set needs the rest


def available_bytes() -> int | None:
    """Memory available to new allocations (Linux MemAvailable), or None where unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def bytes_per_probe(resamples: int) -> int:
    return PER_PROBE_DATA + BOOTSTRAP_MATRICES * 8 * resamples


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if n < 1000 or unit == "TB":
            return f"{n:.3g} {unit}"
        n /= 1000
    raise AssertionError


def check_probe_memory(count: int, resamples: int, available: int | None = None) -> None:
    """ConfigError when `count` probes' data would exceed half the memory available now."""
    available = available_bytes() if available is None else available
    if available is None:
        return
    per_probe = bytes_per_probe(resamples)
    need, limit = count * per_probe, int(available * SHARE)
    if need > limit:
        most = max(1, limit // per_probe)
        raise ConfigError(
            f"probes.count {count:,} needs about {_size(need)} of memory for its per-probe data "
            f"({_size(per_probe)} a probe with {resamples} bootstrap resamples), more than half "
            f"of the {_size(available)} available; use at most {most:,} probes or fewer "
            "bootstrap.resamples, or shard the run over machines"
        )
