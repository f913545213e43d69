"""The editability check, kept between runs: what repeats when the same model is audited again.

The check decodes every probe's reconstruction and its K single-attribute flips, asks the
attribute classifier about each, and reads the target's outcome on the same decodes (the
counterfactual flips). None of it depends on the attack, so a second audit of the same target
on the same generator, classifier, probes and settings would compute the same numbers again.
The cache keeps them, one JSON file per key, the sha256 of everything they depend on:

- the target, generator, classifier and probe set (sha256 of their files, the probe manifest);
- the settings that reach the check (min_expression, the bootstrap, the batch size, the
  device type, the target's contract overrides, whether the flips are read) and the versions
  of sia-audit and torch.

A file is used only when its key, its format and a checksum of its content agree; any other
file (stale, damaged, written by another version) is ignored with a line and measured over.
Nothing is ever trusted that the key does not cover: a target given as Python code (no file
to hash) is never cached.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from sia_audit.fsutil import atomic_write_text
from sia_audit.metrics.editability import AttributeEditability, Editability, TruthCheck
from sia_audit.metrics.estimate import Estimate

FORMAT = 3  # 2: each attribute's leaks_to; 3: leaks_to averaged per class of the other
ENV = "SIA_AUDIT_CACHE"  # a folder, or "off"


def default_folder() -> Path | None:
    """$SIA_AUDIT_CACHE (None when it is "off"), else $XDG_CACHE_HOME/sia-audit, else
    ~/.cache/sia-audit; None (no cache) when there is no home folder to find."""
    chosen = os.environ.get(ENV)
    if chosen is not None:
        return None if chosen.strip().lower() in ("", "off", "0", "no") else Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME")
    if not base:
        try:
            base = str(Path.home() / ".cache")
        except (RuntimeError, KeyError):  # no HOME and no passwd entry (a container's user)
            return None
    return Path(base) / "sia-audit"


def key_of(parts: Mapping[str, Any]) -> str:
    """The sha256 of the parts, as canonical JSON."""
    text = json.dumps({"format": FORMAT, **parts}, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Cached:
    """What a hit gives back: the check's figures and the target's outcome on its decodes."""

    editability: Editability
    flip_loss: Tensor | None  # (N, K + 1) float32, column 0 the reconstruction; None: no flips
    flip_correct: Tensor | None  # (N, K + 1) bool


@dataclass(frozen=True)
class EditabilityCache:
    """One key's file in a cache folder; `notes` collects what the user should be told."""

    folder: Path
    key: str
    notes: list[str] = dataclasses.field(default_factory=list)

    @property
    def path(self) -> Path:
        return self.folder / "editability" / f"{self.key}.json"

    def load(self, n: int, k: int, flips: bool) -> Cached | None:
        """The cached check for this key, or None (a miss, or a file that is not trusted)."""
        path = self.path
        if not path.is_file():
            return None
        try:
            data = json.loads(path.read_text())
            body = data["body"]
            if data.get("format") != FORMAT or body.get("key") != self.key:
                raise ValueError("written for another key or format")
            if data.get("checksum") != _checksum(body):
                raise ValueError("its checksum does not match its content")
            got = Cached(_editability(body["editability"]), *_flips(body["flips"], n, k))
            if got.editability.n != n or len(got.editability.attributes) != k:
                raise ValueError("it holds another number of probes or attributes")
            if flips and got.flip_loss is None:
                return None  # written by a run that did not read the flips: measure them
        except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
            self.notes.append(f"editability cache {path} ignored ({exc}); measured again")
            return None
        self.notes.append(
            f"editability read from the cache ({path}; same target, generator, classifier, "
            f"probes and settings); SIA_AUDIT_CACHE=off measures it again"
        )
        return got

    def save(self, editability: Editability, loss: Tensor | None, correct: Tensor | None) -> None:
        """Keep the check for the next run; a folder that cannot be written costs a line."""
        flips = None
        if loss is not None and correct is not None:
            flips = {"loss": loss.float().tolist(), "correct": correct.bool().tolist()}
        body = {"key": self.key, "editability": dataclasses.asdict(editability), "flips": flips}
        text = json.dumps({"format": FORMAT, "checksum": _checksum(body), "body": body})
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(self.path, text)
        except OSError as exc:
            self.notes.append(f"editability cache not written to {self.path} ({exc})")


def _checksum(body: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def _estimate(d: Mapping[str, Any]) -> Estimate:
    return Estimate(**d)


def _editability(d: Mapping[str, Any]) -> Editability:
    rows = []
    for a in d["attributes"]:
        truth = a["truth"]
        rows.append(
            AttributeEditability(
                attribute=str(a["attribute"]),
                expression=_estimate(a["expression"]),
                leakage=_estimate(a["leakage"]),
                most_leaked_to=a["most_leaked_to"],
                measurable=bool(a["measurable"]),
                leaks_to={str(m): float(v) for m, v in a["leaks_to"].items()},
                truth=None
                if truth is None
                else TruthCheck(
                    **{**truth, "classifier_on_truth": _estimate(truth["classifier_on_truth"])}
                ),  # fmt: skip
            )
        )
    return Editability(str(d["classifier"]), float(d["min_expression"]), tuple(rows), int(d["n"]))


def _flips(d: Mapping[str, Any] | None, n: int, k: int) -> tuple[Tensor | None, Tensor | None]:
    if d is None:
        return None, None
    loss = torch.tensor(d["loss"], dtype=torch.float32)
    correct = torch.tensor(d["correct"], dtype=torch.bool)
    if loss.shape != (n, k + 1) or correct.shape != (n, k + 1) or torch.isnan(loss).any():
        raise ValueError("its flips have another shape or hold NaN")
    return loss, correct
