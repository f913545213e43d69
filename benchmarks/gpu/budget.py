"""Time budgets for the GPU check: sections of items, each stopped cleanly when out of time.

A section gets its own budget (plus whatever the sections before it left unused) and runs its
items one by one. Each item runs under an alarm set to the section's remaining time: when it
rings, the item is recorded as `stopped` and the section's later items as `skipped`; an item
whose own estimate does not fit is skipped before it starts. Every item's outcome is written to
the JSON file as soon as it is known, so a run killed from outside still leaves the figures of
everything that finished.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import signal
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

FORMAT_VERSION = 1


class OutOfTime(BaseException):  # noqa: N818 - a signal, like KeyboardInterrupt
    """The alarm of a section rang. A BaseException, so torch's `except Exception` lets it by."""


class Terminated(BaseException):  # noqa: N818 - a signal, like KeyboardInterrupt
    """SIGTERM from the outer `timeout`: write what we have and stop."""


class Skip(Exception):  # noqa: N818 - an outcome, not an error
    """An item that does not apply here (say, CUDA graphs in a dry run); the reason is recorded."""


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise OutOfTime in the main thread after `seconds` (between Python bytecodes)."""
    if seconds <= 0:
        raise OutOfTime
    previous = signal.signal(signal.SIGALRM, _ring)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _ring(signum: int, frame: object) -> None:
    raise OutOfTime


def _terminate(signum: int, frame: object) -> None:
    raise Terminated


def finite(value: Any) -> Any:
    """The value with every non-finite float replaced by None (JSON has no NaN)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [finite(v) for v in value]
    return value


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:300]}" if text else type(exc).__name__


class Recorder:
    """The JSON document and the log of one check; `save()` rewrites the file atomically."""

    def __init__(self, out: Path, meta: dict[str, Any]) -> None:
        self.out = out
        self.path = out / "gpu_check.json"
        self.data: dict[str, Any] = {
            "format_version": FORMAT_VERSION,
            "meta": meta,
            "sections": {},
            "summary": {},
        }
        self.log = logging.getLogger("gpu_check")
        self.log.setLevel(logging.INFO)
        self.log.propagate = False
        for handler in list(self.log.handlers):
            self.log.removeHandler(handler)
            handler.close()
        formatter = logging.Formatter("%(asctime)s %(message)s", "%H:%M:%S")
        for handler in (
            logging.StreamHandler(),
            logging.FileHandler(out / "gpu_check.log", mode="w", encoding="utf-8"),
        ):
            handler.setFormatter(formatter)
            self.log.addHandler(handler)

    def save(self) -> None:
        tmp = self.path.with_suffix(".json.tmp")
        text = json.dumps(finite(self.data), indent=2, allow_nan=False) + "\n"
        tmp.write_text(text, encoding="utf-8")
        os.replace(tmp, self.path)

    def close(self) -> None:
        for handler in list(self.log.handlers):
            self.log.removeHandler(handler)
            handler.close()


class Section:
    """One section's items, its budget and its record in the JSON document."""

    def __init__(self, recorder: Recorder, name: str, budget: float, carried: float) -> None:
        self.recorder, self.name = recorder, name
        self.started = time.monotonic()
        self.deadline = self.started + budget + carried
        self.out_of_time = False
        self.record: dict[str, Any] = {
            "budget_s": round(budget, 1),
            "carried_s": round(carried, 1),
            "seconds": 0.0,
            "status": "running",
            "items": {},
        }
        recorder.data["sections"][name] = self.record
        recorder.log.info("== %s: budget %.0f s (+%.0f s carried)", name, budget, carried)

    def left(self) -> float:
        return self.deadline - time.monotonic()

    def item(
        self, name: str, fn: Callable[[], dict[str, Any]], *, need: float = 0.0
    ) -> dict[str, Any] | None:
        """Run `fn` within the section's time; its figures on success ("ok" or "failed"), else
        None. `need` is a rough estimate of its seconds: an item that cannot fit is skipped."""
        log = self.recorder.log
        left = self.left()
        entry: dict[str, Any]
        if self.out_of_time:
            entry = {"status": "skipped", "reason": "the section ran out of time before it"}
        elif left < need:
            entry = {
                "status": "skipped",
                "reason": f"needs ~{need:.0f} s; {max(left, 0):.0f} s left in the section",
            }
        else:
            t0 = time.monotonic()
            try:
                with time_limit(left):
                    entry = dict(fn())
                entry.setdefault("status", "ok")
            except Skip as exc:
                entry = {"status": "skipped", "reason": str(exc)}
            except Terminated:
                entry = {"status": "stopped", "reason": "terminated from outside (SIGTERM)"}
                entry["seconds"] = round(time.monotonic() - t0, 2)
                self.record["items"][name] = entry
                self.record["status"] = "terminated"
                self.recorder.save()
                raise
            except OutOfTime:
                self.out_of_time = True
                entry = {
                    "status": "stopped",
                    "reason": f"the section's time ran out after {time.monotonic() - t0:.0f} s",
                }
            except Exception as exc:
                log.info("%s", traceback.format_exc().rstrip())
                if self.left() <= 0:  # the alarm rang inside code that wrapped it in its own error
                    self.out_of_time = True
                    entry = {"status": "stopped", "reason": f"out of time ({one_line(exc)})"}
                else:
                    entry = {"status": "error", "error": one_line(exc)}
            entry["seconds"] = round(time.monotonic() - t0, 2)
        self.record["items"][name] = entry
        self.record["seconds"] = round(time.monotonic() - self.started, 1)
        note = entry.get("reason") or entry.get("error") or entry.get("note", "")
        log.info("[%s] %s: %s %s", self.name, name, entry["status"].upper(), note)
        self.recorder.save()
        return entry if entry["status"] in ("ok", "failed") else None

    def close(self) -> float:
        """Mark the section done; the seconds it leaves unused (carried to the next one)."""
        statuses = {e["status"] for e in self.record["items"].values()}
        self.record["status"] = (
            "stopped" if self.out_of_time else "done with errors" if "error" in statuses else "done"
        )
        self.record["seconds"] = round(time.monotonic() - self.started, 1)
        self.recorder.save()
        return max(0.0, self.left())


def on_sigterm() -> None:
    """Turn the outer timeout's SIGTERM into `Terminated`, so the JSON is written once more."""
    signal.signal(signal.SIGTERM, _terminate)
