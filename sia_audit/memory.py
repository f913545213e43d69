"""Give freed heap back to the operating system between batches, so RSS stays flat in probes.

A batch's transient working set (activations of T forward and backward passes) is hundreds of
MB; glibc's malloc keeps much of it after the batch frees it, fragmented, and the resident size
of a long CPU audit crept up by ~0.3 MB per probe (docs/performance.md, section 5). Calling
`malloc_trim(0)` after each batch returns it. Elsewhere (macOS, musl, Windows) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
from collections.abc import Callable


@functools.cache
def _malloc_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        return ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None


def release_freed_memory() -> None:
    """Return the heap that freed tensors left behind to the OS (glibc only; cheap)."""
    trim = _malloc_trim()
    if trim is not None:
        trim(0)
