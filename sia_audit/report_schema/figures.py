"""The figures of a report (`figures.*` and `onnx`), read back: every estimate with its interval.

Each block mirrors the `as_dict` of the object that wrote it (metrics.Sensitivity,
metrics.editability.Editability, onnx.results.OnnxResult...); tests/test_report_schema.py checks
that the two agree, so a new key in a writer fails there until its reader knows it.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, ClassVar, Self

from sia_audit.report_schema.fields import Node


class Reader:
    """A record of a saved block that reads itself back, field by field, from its annotations.

    `read(node)` fills each dataclass field from the key of the same name with the getter its
    type calls for: int a count, float a number, str text, bool a flag, `tuple[str, ...]` texts,
    another Reader its block, `Mapping[str, Reader]` an object of blocks by name; `X | None`
    takes null. A field made with `field(metadata=OLDER)` may be missing (reports written before
    it existed). A record whose keys do not map one to one onto its fields writes its own `read`.
    """

    PATH: ClassVar[str] = ""

    @classmethod
    def read(cls, d: Node) -> Self:
        return cls(**{f.name: _field(d, f.name, t, o) for f, t, o in _fields(cls)})

    @classmethod
    def from_dict(cls, data: Any, path: str | None = None) -> Self:
        return cls.read(Node.of(data, cls.PATH if path is None else path))


# The metadata of a field that reports written before it existed lack (read as None or empty):
# `x: T | None = field(metadata=OLDER)`, a plain field() so that type checkers see no default.
OLDER: Mapping[str, bool] = MappingProxyType({"older": True})


# Per record class, resolved once: each field, its type, and whether it may be missing.
_FIELDS: dict[type, tuple[tuple[Any, Any, bool], ...]] = {}


def _fields(cls: type) -> tuple[tuple[Any, Any, bool], ...]:
    if cls not in _FIELDS:
        hints = typing.get_type_hints(cls)
        _FIELDS[cls] = tuple(
            (f, hints[f.name], bool(f.metadata.get("older"))) for f in dataclasses.fields(cls)
        )
    return _FIELDS[cls]


def _field(d: Node, key: str, kind: Any, missing_ok: bool) -> Any:
    args = typing.get_args(kind)
    nullable = type(None) in args
    if nullable:
        (kind,) = [a for a in args if a is not type(None)]
        if d.raw(key, missing_ok) is None:
            return None
    origin = typing.get_origin(kind)
    if origin is tuple:  # tuple[str, ...]
        return d.texts(key, missing_ok)
    if origin is Mapping:  # Mapping[str, a Reader]
        reader = typing.get_args(kind)[1]
        return {name: reader.read(node) for name, node in d.members(key)}
    if isinstance(kind, type) and issubclass(kind, Reader):
        return kind.read(d.node(key))
    getter = {int: d.count, float: d.number, str: d.text, bool: d.flag}[kind]
    return getter(key)


@dataclass(frozen=True)
class EstimateRecord(Reader):
    """A figure, its interval and the sentence that defines it (metrics.Estimate, saved)."""

    PATH = "estimate"

    value: float
    low: float
    high: float
    n: int
    level: float
    definition: str


def estimates(d: Node, key: str, names: tuple[str, ...] | None = None) -> dict[str, EstimateRecord]:
    """An object of estimates by name: every entry, or those of `names` that it holds."""
    block = d.node(key)
    keys = list(block.obj) if names is None else [n for n in names if n in block.obj]
    return {str(k): EstimateRecord.read(block.node(k)) for k in keys}


@dataclass(frozen=True)
class SensitivityBlock(Reader):
    """s per attribute, h over the measurable ones, SDAR of each (metrics.Sensitivity, saved)."""

    PATH = "figures.sensitivity"

    n: int
    attributes: tuple[str, ...]  # the histogram's attributes, in generator order
    excluded: tuple[str, ...]  # frozen, left out of the histogram
    unmeasurable: tuple[str, ...]  # the generator cannot draw them: s only, no h
    s: Mapping[str, EstimateRecord]  # one per attribute
    h: Mapping[str, EstimateRecord]  # measurable attributes only
    sdar_s: EstimateRecord
    sdar_h: EstimateRecord

    def get(self, key: str) -> Mapping[str, EstimateRecord] | None:
        """The estimates of `s` or `h` by attribute (as AttributeBlock.get)."""
        return {"s": self.s, "h": self.h}.get(key)

    @classmethod
    def read(cls, d: Node) -> Self:
        attributes = d.texts("attributes")
        s = d.node("s")
        return cls(
            n=d.count("n"),
            attributes=attributes,
            excluded=d.texts("excluded"),
            unmeasurable=d.texts("unmeasurable", optional=True),  # absent before editability
            s={a: EstimateRecord.read(s.node(a)) for a in attributes},
            h=estimates(d, "h", attributes),
            sdar_s=EstimateRecord.read(d.node("sdar_s")),
            sdar_h=EstimateRecord.read(d.node("sdar_h")),
        )


@dataclass(frozen=True)
class AttributeBlock(Reader):
    """A per-attribute figure's block (audit.figures writes it): estimates per attribute under
    one key or more (w, rate and loss, ...) and any single estimates beside them (the image's
    own path share)."""

    PATH = "figures.block"

    n: int
    attributes: tuple[str, ...]
    excluded: tuple[str, ...]
    estimates: Mapping[str, Mapping[str, EstimateRecord]]  # by key, then by attribute
    scalars: Mapping[str, EstimateRecord]
    # The flips' attributes left out because their flip moves the label's classifier reading,
    # by that much on average (absent before they were left out; empty in other blocks).
    label_leak: Mapping[str, float] = field(default_factory=dict)
    # The flips' push direction per attribute: +1 where turning it on moves a binary target's
    # answer toward the positive class, -1 away (absent before the push; empty elsewhere).
    push_toward: Mapping[str, float] = field(default_factory=dict)

    def get(self, key: str) -> Mapping[str, EstimateRecord] | None:
        return self.estimates.get(key)

    @classmethod
    def read(cls, d: Node) -> Self:
        found: dict[str, Mapping[str, EstimateRecord]] = {}
        scalars: dict[str, EstimateRecord] = {}
        for key in d.obj:
            if key in ("n", "attributes", "excluded", "label_leak", "push_toward"):
                continue
            node = d.node(key)
            if "value" in node.obj:  # one estimate
                scalars[key] = EstimateRecord.read(node)
            else:
                found[key] = estimates(d, key)
        return cls(
            n=d.count("n"),
            attributes=d.texts("attributes"),
            excluded=d.texts("excluded"),
            estimates=found,
            scalars=scalars,
            label_leak=_numbers(d, "label_leak"),
            push_toward=_numbers(d, "push_toward"),
        )


def _numbers(d: Node, key: str) -> dict[str, float]:
    """An optional object of numbers by name (empty where the report has none)."""
    node = d.node_or_none(key, optional=True)
    return {} if node is None else {name: node.number(name) for name in node.obj}


# The start of the message of a flag that could not be checked on a run (gates.flags writes it).
NOT_CHECKED = "not checked: "


@dataclass(frozen=True)
class FlagRecord(Reader):
    """One validity flag (gates.flags.ValidityFlag, saved): raised or not, and why."""

    PATH = "flags[]"

    name: str
    raised: bool
    level: str  # fail / warn
    message: str

    @property
    def checked(self) -> bool:
        """False where the run measured nothing to check it on (its message says why)."""
        return not self.message.startswith(NOT_CHECKED)


@dataclass(frozen=True)
class GroupRecord(Reader):
    """One side of a sub-population: its probes' sensitivity, or None and the reason."""

    PATH = "group"

    label: str
    n: int
    reason: str | None = field(metadata=OLDER)
    sensitivity: SensitivityBlock | None


@dataclass(frozen=True)
class SubpopulationBlock(Reader):
    """Sensitivity within a group and within the rest (metrics.SubpopulationSensitivity)."""

    PATH = "subpopulation"

    attribute: str
    in_group: GroupRecord
    out_group: GroupRecord


@dataclass(frozen=True)
class AttackConfigRecord(Reader):
    """The attack settings a report prints; the whole config stays in the provenance's `values`,
    where a regression compares it."""

    PATH = "config"

    variant: str
    steps: int
    eta_x: float
    eta_a: float
    eps_x: float
    seed: int


@dataclass(frozen=True)
class AttackRecord(Reader):
    """One attack's figures over the probe set (results.AttackSummary); None where it has none."""

    PATH = "attack"

    config: AttackConfigRecord
    robust_accuracy: EstimateRecord | None = field(metadata=OLDER)
    attack_success_rate: EstimateRecord | None = field(metadata=OLDER)
    psnr_x0: EstimateRecord | None = field(metadata=OLDER)
    ssim_x0: EstimateRecord | None = field(metadata=OLDER)
    psnr_recon: EstimateRecord | None = field(metadata=OLDER)  # generator attacks only
    ssim_recon: EstimateRecord | None = field(metadata=OLDER)
    mean_nme: EstimateRecord | None = field(metadata=OLDER)  # keypoint tasks only
    failure_rate: EstimateRecord | None = field(metadata=OLDER)


@dataclass(frozen=True)
class TruthRecord(Reader):
    """A flip scored against the renderer's true edit (synthfaces only)."""

    PATH = "truth"

    flip_psnr_db: float
    copy_psnr_db: float
    gain_db: float
    region_psnr_db: float
    region_pixels: float
    classifier_on_truth: EstimateRecord


@dataclass(frozen=True)
class AttributeEditabilityRecord(Reader):
    """How well the generator draws a flip of one attribute."""

    PATH = "attribute"

    expression: EstimateRecord
    leakage: EstimateRecord
    most_leaked_to: str | None
    measurable: bool
    truth: TruthRecord | None = field(metadata=OLDER)


@dataclass(frozen=True)
class EditabilityBlock(Reader):
    """Can the generator draw each attribute? (metrics.editability.Editability, saved)."""

    PATH = "figures.editability"

    classifier: str
    min_expression: float
    n: int
    attributes: Mapping[str, AttributeEditabilityRecord]  # in generator order

    @property
    def unmeasurable(self) -> tuple[str, ...]:
        return tuple(name for name, a in self.attributes.items() if not a.measurable)


@dataclass(frozen=True)
class OnnxParityRecord(Reader):
    """How closely the ONNX export reproduces the torch target on the clean probes."""

    PATH = "onnx.parity"

    max_abs_diff: float
    agreement: EstimateRecord
    torch_target: str


@dataclass(frozen=True)
class OnnxBlock(Reader):
    """The --onnx check (onnx.results.OnnxResult, saved); absent in runs without --onnx."""

    PATH = "onnx"

    model: str
    sha256: str
    provider: str
    onnxruntime_version: str
    clean_accuracy: EstimateRecord
    parity: OnnxParityRecord | None = field(metadata=OLDER)  # None: no torch target to compare with
