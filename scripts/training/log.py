"""The timestamped log of the training scripts and benchmarks: stdout and a file, line by line."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

Log = Callable[[str], None]


def logger(path: Path) -> Log:
    """A log function: timestamped lines to stdout and appended to path."""
    path.parent.mkdir(parents=True, exist_ok=True)

    def log(line: str) -> None:
        stamped = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}"
        print(stamped, flush=True)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(stamped + "\n")

    return log
