"""release_freed_memory: glibc's malloc_trim where there is one, a no-op elsewhere."""

from __future__ import annotations

import platform
import sys

from sia_audit.memory import _malloc_trim, release_freed_memory


def test_trim_is_found_on_glibc_and_runs() -> None:
    if sys.platform == "linux" and platform.libc_ver()[0] == "glibc":
        assert _malloc_trim() is not None
    release_freed_memory()  # must never raise, whatever the C library
