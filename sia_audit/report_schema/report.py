"""A whole report.json (`ReportRecord`, `load`) and its run-level blocks: gates, per-probe data,
gallery, provenance and timings."""

from __future__ import annotations

import functools
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Self, TypeVar

from sia_audit.errors import DataError
from sia_audit.report_schema.fields import Node, SchemaError, flag, number
from sia_audit.report_schema.figures import (
    AttackConfigRecord,
    AttackRecord,
    AttributeBlock,
    EditabilityBlock,
    EstimateRecord,
    FlagRecord,
    OnnxBlock,
    Reader,
    SensitivityBlock,
    SubpopulationBlock,
)

SCHEMA_VERSION = 1
_T = TypeVar("_T")


@dataclass(frozen=True)
class GateRecord(Reader):
    """One gate verdict (results.GateVerdict, saved); value and bounds are None when skipped."""

    PATH = "gate"

    gate: str
    status: str  # pass / fail / skipped / unmeasurable
    value: float | None
    low: float | None
    high: float | None
    threshold: float | None
    bound: str | None  # max / min
    use_confidence: bool
    message: str


def _sized(d: Node, key: str, values: tuple[Any, ...], n: int) -> tuple[Any, ...]:
    if len(values) != n:
        raise SchemaError(d.at(key), f"{len(values)} entries for {n} probes")
    return values


def _flags(d: Node, key: str, n: int) -> tuple[bool, ...]:
    values = _sized(d, key, d.items(key), n)
    return tuple(flag(v, f"{d.at(key)}[{i}]") for i, v in enumerate(values))


def _rows(
    d: Node, key: str, n: int, k: int, optional: bool = False
) -> tuple[tuple[float, ...], ...] | None:
    """An (n, k) array of numbers, or None (saved as null for pixel attacks; a missing
    `optional` key, which older reports lack, too)."""
    return _grid(d, key, n, k, optional, number, "numbers")


def _flag_rows(d: Node, key: str, n: int, k: int) -> tuple[tuple[bool, ...], ...] | None:
    """An optional (n, k) array of booleans, or None."""
    return _grid(d, key, n, k, True, flag, "booleans")


def _grid(
    d: Node,
    key: str,
    n: int,
    k: int,
    optional: bool,
    read: Callable[[Any, str], _T],
    what: str,
) -> tuple[tuple[_T, ...], ...] | None:
    """An (n, k) array whose cells `read` checks, or None where it is null or (optional) absent."""
    rows = d.items_or_none(key, optional)
    if rows is None:
        return None
    out = []
    for i, row in enumerate(_sized(d, key, rows, n)):
        where = f"{d.at(key)}[{i}]"
        if not isinstance(row, list) or len(row) != k:
            raise SchemaError(where, f"expected a list of {k} {what}")
        out.append(tuple(read(v, f"{where}[{j}]") for j, v in enumerate(row)))
    return tuple(out)


@dataclass(frozen=True)
class ProbesBlock(Reader):
    """The main attack's per-probe data, in probe order, so a later audit can be paired with it."""

    PATH = "probes"

    attack: str  # the main attack's name
    attributes: tuple[str, ...]  # every generator attribute, frozen ones too (K)
    frozen: tuple[str, ...]
    names: tuple[str, ...]  # probe names (N)
    a0: tuple[tuple[float, ...], ...] | None  # (N, K)
    delta: tuple[tuple[float, ...], ...] | None  # a_T - a_0, (N, K)
    correct_clean: tuple[bool, ...]  # on x0
    correct_reconstruction: tuple[bool, ...]  # on G(x0, a0)
    correct_adversary: tuple[bool, ...]
    loss_adversary: tuple[float, ...] | None
    # Added after schema 1's first reports (absent there): the loss on the attack's start and
    # each attribute's loss drop (N, K), what w is computed from, so w can be compared too.
    loss_start: tuple[float, ...] | None = None
    effects: tuple[tuple[float, ...], ...] | None = None
    # Counterfactual flips (N, K): the loss change when k is flipped in G's input, and whether
    # the target's right/wrong changed (absent in reports written before they were measured).
    flip_loss: tuple[tuple[float, ...], ...] | None = None
    flip_changed: tuple[tuple[bool, ...], ...] | None = None

    @classmethod
    def read(cls, d: Node) -> Self:
        names, attributes = d.texts("names"), d.texts("attributes")
        n, k = len(names), len(attributes)
        loss = d.items_or_none("loss_adversary")
        start = d.items_or_none("loss_start", optional=True)
        return cls(
            attack=d.text("attack"),
            attributes=attributes,
            frozen=d.texts("frozen"),
            names=names,
            a0=_rows(d, "a0", n, k),
            delta=_rows(d, "delta", n, k),
            correct_clean=_flags(d, "correct_clean", n),
            correct_reconstruction=_flags(d, "correct_reconstruction", n),
            correct_adversary=_flags(d, "correct_adversary", n),
            loss_adversary=None
            if loss is None
            else tuple(
                number(v, f"{d.at('loss_adversary')}[{i}]")
                for i, v in enumerate(_sized(d, "loss_adversary", loss, n))
            ),
            loss_start=None
            if start is None
            else tuple(
                number(v, f"{d.at('loss_start')}[{i}]")
                for i, v in enumerate(_sized(d, "loss_start", start, n))
            ),
            effects=_rows(d, "effects", n, k, optional=True),
            flip_loss=_rows(d, "flip_loss", n, k, optional=True),
            flip_changed=_flag_rows(d, "flip_changed", n, k),
        )


@dataclass(frozen=True)
class GalleryRecord(Reader):
    """One probe shown in the report: its three images (base64 PNG) and the attribute changes."""

    PATH = "gallery"

    name: str
    flipped: bool  # the target's prediction changed
    changes: tuple[tuple[str, float], ...]  # (attribute, a_T - a_0), as saved
    original: str
    reconstruction: str
    adversary: str

    @classmethod
    def read(cls, d: Node) -> Self:
        images = d.node("images")
        return cls(
            name=d.text("name"),
            flipped=d.flag("flipped"),
            changes=tuple((c.text("attribute"), c.number("change")) for c in d.nodes("changes")),
            original=images.text("original"),
            reconstruction=images.text("reconstruction"),
            adversary=images.text("adversary"),
        )


@dataclass(frozen=True)
class BootstrapRecord(Reader):
    PATH = "provenance.bootstrap"

    resamples: int
    seed: int
    level: float


@dataclass(frozen=True)
class ProvenanceBlock(Reader):
    """Where the figures came from. `values` holds every recorded key as saved (hashes, versions,
    device...: the set grows over time); the fields are those a report or a comparison needs."""

    PATH = "provenance"

    target: str
    target_sha256: str
    tool_version: str
    probes: int
    attack: AttackConfigRecord | None
    baselines: tuple[str, ...] | None
    bootstrap: BootstrapRecord | None
    values: Mapping[str, Any]

    def text(self, key: str) -> str | None:
        """A recorded value as text; None when the run did not record it."""
        return str(self.values[key]) if key in self.values else None

    @classmethod
    def read(cls, d: Node) -> Self:
        attack, bootstrap = d.node_or_none("attack", True), d.node_or_none("bootstrap", True)
        return cls(
            target=d.text("target"),
            target_sha256=d.text("target_sha256"),
            tool_version=d.text("tool_version"),
            probes=d.count("probes"),
            attack=None if attack is None else AttackConfigRecord.read(attack),
            baselines=d.texts("baselines") if "baselines" in d.obj else None,
            bootstrap=None if bootstrap is None else BootstrapRecord.read(bootstrap),
            values=d.obj,
        )


@dataclass(frozen=True)
class TimingsBlock(Reader):
    """Wall times in seconds by phase, and when the run finished (absent in older reports)."""

    PATH = "timings"

    seconds: Mapping[str, float]  # in saved order
    finished_utc: str | None  # "2026-11-22T05:00:00Z"

    @classmethod
    def read(cls, d: Node) -> Self:
        finished = d.raw("finished_utc", optional=True)
        return cls(
            seconds={
                k: float(v)
                for k, v in d.obj.items()
                if isinstance(v, int | float) and not isinstance(v, bool)
            },
            finished_utc=finished if isinstance(finished, str) else None,
        )


class ReportRecord:
    """A report.json's data, read block by block: each block is checked when first read, so a
    renderer reads what it shows and a comparison what it compares."""

    def __init__(self, data: Any, json_bytes: bytes | None = None) -> None:
        self.data: Mapping[str, Any] = Node.of(data, "report").obj
        self.json_bytes = json_bytes  # the exact bytes, when loaded from a file
        self._root = Node(self.data, "")

    @cached_property
    def _figures(self) -> Node:
        return self._root.node("figures")

    @cached_property
    def schema_version(self) -> int:
        return self._root.count("schema_version")

    @cached_property
    def verdict(self) -> str:
        return self._root.text("verdict")  # pass / fail

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"

    @cached_property
    def gates(self) -> tuple[GateRecord, ...]:
        return tuple(GateRecord.read(g) for g in self._root.nodes("gates"))

    @cached_property
    def protected(self) -> tuple[str, ...]:
        return self._root.texts("protected", optional=True)

    @cached_property
    def clean_accuracy(self) -> EstimateRecord:
        return EstimateRecord.read(self._figures.node("clean_accuracy"))

    @cached_property
    def reconstruction_accuracy(self) -> EstimateRecord:
        return EstimateRecord.read(self._figures.node("reconstruction_accuracy"))

    @cached_property
    def sensitivity(self) -> SensitivityBlock:
        return SensitivityBlock.read(self._figures.node("sensitivity"))

    @cached_property
    def subpopulations(self) -> Mapping[str, SubpopulationBlock]:
        return {k: SubpopulationBlock.read(v) for k, v in self._figures.members("subpopulations")}

    def block(self, name: str) -> SensitivityBlock | AttributeBlock | None:
        """A per-attribute figure's block by name (report_schema.per_attribute reads through it):
        `sensitivity`, `single_attribute`, or one audit.figures writes. None where the report has
        none (null, or written before the figure existed)."""
        if name == "sensitivity":
            return self.sensitivity
        if name == "single_attribute":
            return self.single_attribute
        return self._blocks(name)

    @functools.cache  # noqa: B019 - one report, a handful of names
    def _blocks(self, name: str) -> AttributeBlock | None:
        node = self._figures.node_or_none(name, optional=True)
        return None if node is None else AttributeBlock.read(node)

    @cached_property
    def single_attribute(self) -> SensitivityBlock | None:
        node = self._figures.node_or_none("single_attribute", optional=True)
        return None if node is None else SensitivityBlock.read(node)

    @cached_property
    def attacks(self) -> Mapping[str, AttackRecord]:
        return {k: AttackRecord.read(v) for k, v in self._figures.members("attacks")}

    @cached_property
    def editability(self) -> EditabilityBlock | None:
        node = self._figures.node_or_none("editability", optional=True)  # before editability
        return None if node is None else EditabilityBlock.read(node)

    @cached_property
    def flags(self) -> tuple[FlagRecord, ...]:
        return tuple(FlagRecord.read(f) for f in self._root.nodes("flags", optional=True))

    @cached_property
    def main_attack(self) -> str:
        """The main attack's name, without reading the per-probe arrays."""
        return self._root.node("probes").text("attack")

    @cached_property
    def probes(self) -> ProbesBlock:
        return ProbesBlock.read(self._root.node("probes"))

    @cached_property
    def gallery(self) -> tuple[GalleryRecord, ...]:
        return tuple(GalleryRecord.read(g) for g in self._root.nodes("gallery", optional=True))

    @cached_property
    def provenance(self) -> ProvenanceBlock:
        return ProvenanceBlock.read(self._root.node("provenance"))

    @cached_property
    def timings(self) -> TimingsBlock:
        node = self._root.node_or_none("timings", optional=True)
        return TimingsBlock.read(node if node is not None else Node({}, "timings"))

    @cached_property
    def onnx(self) -> OnnxBlock | None:
        node = self._root.node_or_none("onnx", optional=True)  # runs without --onnx
        return None if node is None else OnnxBlock.read(node)


def load(path: Path) -> ReportRecord:
    """A saved report.json of this schema (its bytes kept); anything else is one DataError line."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise DataError(f"{path}: cannot read it ({exc.strerror}); check the path") from exc
    try:
        data = json.loads(raw.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: not JSON; give a report.json written by sia-audit") from exc
    except RecursionError as exc:  # json recurses once per nesting level
        raise DataError(
            f"{path}: nested too deeply to be a report; give a report.json written by sia-audit"
        ) from exc
    if not isinstance(data, dict) or data.get("schema_version") != SCHEMA_VERSION:
        raise DataError(
            f"{path}: not a sia-audit report of schema {SCHEMA_VERSION}; "
            "give a report.json written by sia-audit run"
        )
    where = non_finite(data)
    if where is not None:
        key, value = where
        raise DataError(
            f"{path}: {key} is {value}, and sia-audit writes only finite numbers (the file was "
            "edited or damaged); re-run sia-audit run to write a new report.json"
        )
    return ReportRecord(data, raw)


def non_finite(value: Any) -> tuple[str, str] | None:
    """The key path and text of the first NaN or infinity in parsed JSON, or None.

    Python's json reads `NaN`, `Infinity` and numbers too large for a float (`1e999`) without
    complaint; a report never holds them (the writer refuses them), so the reader refuses them
    once, here, rather than letting a comparison or a chart meet them later. Iterative, in
    document order: any nesting json accepted is walked.
    """
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, float):
            if not math.isfinite(item):
                return path or "report", str(item)
        elif isinstance(item, dict):
            children = [(f"{path}.{k}" if path else str(k), v) for k, v in item.items()]
            stack.extend(reversed(children))
        elif isinstance(item, list):
            stack.extend(reversed([(f"{path}[{i}]", v) for i, v in enumerate(item)]))
    return None
