"""The figures of a report (`figures.*` and `onnx`), read back: every estimate with its interval.

Each block mirrors the `as_dict` of the object that wrote it (metrics.Sensitivity,
metrics.editability.Editability, onnx.results.OnnxResult...); tests/test_report_schema.py checks
that the two agree, so a new key in a writer fails there until its reader knows it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Self

from sia_audit.report_schema.fields import Node


class Reader:
    """`from_dict(data)`: a block read from its saved dict, `PATH` naming it in errors."""

    PATH: ClassVar[str] = ""

    @classmethod
    def read(cls, d: Node) -> Self:
        raise NotImplementedError

    @classmethod
    def from_dict(cls, data: Any, path: str | None = None) -> Self:
        return cls.read(Node.of(data, cls.PATH if path is None else path))


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

    @classmethod
    def read(cls, d: Node) -> Self:
        return cls(
            value=d.number("value"),
            low=d.number("low"),
            high=d.number("high"),
            n=d.count("n"),
            level=d.number("level"),
            definition=d.text("definition"),
        )


def estimate_or_none(d: Node, key: str, optional: bool = False) -> EstimateRecord | None:
    node = d.node_or_none(key, optional)
    return None if node is None else EstimateRecord.read(node)


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
class EffectsBlock(Reader):
    """Per attribute, the loss drop when it alone is reset to a0 (metrics.AttributeEffects)."""

    PATH = "figures.attribute_effect"

    n: int
    attributes: tuple[str, ...]
    excluded: tuple[str, ...]
    effect: Mapping[str, EstimateRecord]

    @classmethod
    def read(cls, d: Node) -> Self:
        return cls(
            n=d.count("n"),
            attributes=d.texts("attributes"),
            excluded=d.texts("excluded"),
            effect=estimates(d, "effect"),
        )


@dataclass(frozen=True)
class PathBlock(Reader):
    """Per attribute, the loss increase its moves carried and its share (metrics.path)."""

    PATH = "figures.path_attribution"

    n: int
    attributes: tuple[str, ...]
    excluded: tuple[str, ...]
    path: Mapping[str, EstimateRecord]
    share: Mapping[str, EstimateRecord]
    image: EstimateRecord
    image_share: EstimateRecord
    total: EstimateRecord

    @classmethod
    def read(cls, d: Node) -> Self:
        return cls(
            n=d.count("n"),
            attributes=d.texts("attributes"),
            excluded=d.texts("excluded"),
            path=estimates(d, "path"),
            share=estimates(d, "share"),
            image=EstimateRecord.read(d.node("image")),
            image_share=EstimateRecord.read(d.node("image_share")),
            total=EstimateRecord.read(d.node("total")),
        )


@dataclass(frozen=True)
class WeightedBlock(Reader):
    """Per attribute, s times its share of the attack's loss increase (metrics.weighted)."""

    PATH = "figures.weighted_sensitivity"

    n: int
    attributes: tuple[str, ...]
    excluded: tuple[str, ...]
    w: Mapping[str, EstimateRecord]

    @classmethod
    def read(cls, d: Node) -> Self:
        return cls(
            n=d.count("n"),
            attributes=d.texts("attributes"),
            excluded=d.texts("excluded"),
            w=estimates(d, "w"),
        )


@dataclass(frozen=True)
class FlipsBlock(Reader):
    """Per attribute, the flip rate and flip loss of counterfactual flips (metrics)."""

    PATH = "figures.counterfactual_flips"

    n: int
    attributes: tuple[str, ...]
    excluded: tuple[str, ...]
    rate: Mapping[str, EstimateRecord]
    loss: Mapping[str, EstimateRecord]

    @classmethod
    def read(cls, d: Node) -> Self:
        return cls(
            n=d.count("n"),
            attributes=d.texts("attributes"),
            excluded=d.texts("excluded"),
            rate=estimates(d, "rate"),
            loss=estimates(d, "loss"),
        )


@dataclass(frozen=True)
class FlagRecord(Reader):
    """One validity flag (gates.flags.ValidityFlag, saved): raised or not, and why."""

    PATH = "flags[]"

    name: str
    raised: bool
    level: str  # fail / warn
    message: str

    @classmethod
    def read(cls, d: Node) -> Self:
        return cls(
            name=d.text("name"),
            raised=d.flag("raised"),
            level=d.text("level"),
            message=d.text("message"),
        )


@dataclass(frozen=True)
class GroupRecord(Reader):
    """One side of a sub-population: its probes' sensitivity, or None and the reason."""

    PATH = "group"

    label: str
    n: int
    reason: str | None
    sensitivity: SensitivityBlock | None

    @classmethod
    def read(cls, d: Node) -> Self:
        sens = d.node_or_none("sensitivity")
        return cls(
            label=d.text("label"),
            n=d.count("n"),
            reason=d.text_or_none("reason", optional=True),
            sensitivity=None if sens is None else SensitivityBlock.read(sens),
        )


@dataclass(frozen=True)
class SubpopulationBlock(Reader):
    """Sensitivity within a group and within the rest (metrics.SubpopulationSensitivity)."""

    PATH = "subpopulation"

    attribute: str
    in_group: GroupRecord
    out_group: GroupRecord

    @classmethod
    def read(cls, d: Node) -> Self:
        return cls(
            attribute=d.text("attribute"),
            in_group=GroupRecord.read(d.node("in_group")),
            out_group=GroupRecord.read(d.node("out_group")),
        )


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

    @classmethod
    def read(cls, d: Node) -> Self:
        return cls(
            variant=d.text("variant"),
            steps=d.count("steps"),
            eta_x=d.number("eta_x"),
            eta_a=d.number("eta_a"),
            eps_x=d.number("eps_x"),
            seed=d.count("seed"),
        )


@dataclass(frozen=True)
class AttackRecord(Reader):
    """One attack's figures over the probe set (results.AttackSummary); None where it has none."""

    PATH = "attack"

    config: AttackConfigRecord
    robust_accuracy: EstimateRecord | None
    attack_success_rate: EstimateRecord | None
    psnr_x0: EstimateRecord | None
    ssim_x0: EstimateRecord | None
    psnr_recon: EstimateRecord | None  # generator attacks only
    ssim_recon: EstimateRecord | None
    mean_nme: EstimateRecord | None  # keypoint tasks only
    failure_rate: EstimateRecord | None

    @classmethod
    def read(cls, d: Node) -> Self:
        def e(key: str) -> EstimateRecord | None:
            return estimate_or_none(d, key, optional=True)

        return cls(
            config=AttackConfigRecord.read(d.node("config")),
            robust_accuracy=e("robust_accuracy"),
            attack_success_rate=e("attack_success_rate"),
            psnr_x0=e("psnr_x0"),
            ssim_x0=e("ssim_x0"),
            psnr_recon=e("psnr_recon"),
            ssim_recon=e("ssim_recon"),
            mean_nme=e("mean_nme"),
            failure_rate=e("failure_rate"),
        )


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

    @classmethod
    def read(cls, d: Node) -> Self:
        return cls(
            flip_psnr_db=d.number("flip_psnr_db"),
            copy_psnr_db=d.number("copy_psnr_db"),
            gain_db=d.number("gain_db"),
            region_psnr_db=d.number("region_psnr_db"),
            region_pixels=d.number("region_pixels"),
            classifier_on_truth=EstimateRecord.read(d.node("classifier_on_truth")),
        )


@dataclass(frozen=True)
class AttributeEditabilityRecord(Reader):
    """How well the generator draws a flip of one attribute."""

    PATH = "attribute"

    expression: EstimateRecord
    leakage: EstimateRecord
    most_leaked_to: str | None
    measurable: bool
    truth: TruthRecord | None

    @classmethod
    def read(cls, d: Node) -> Self:
        truth = d.node_or_none("truth", optional=True)
        return cls(
            expression=EstimateRecord.read(d.node("expression")),
            leakage=EstimateRecord.read(d.node("leakage")),
            most_leaked_to=d.text_or_none("most_leaked_to"),
            measurable=d.flag("measurable"),
            truth=None if truth is None else TruthRecord.read(truth),
        )


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

    @classmethod
    def read(cls, d: Node) -> Self:
        return cls(
            classifier=d.text("classifier"),
            min_expression=d.number("min_expression"),
            n=d.count("n"),
            attributes={k: AttributeEditabilityRecord.read(v) for k, v in d.members("attributes")},
        )


@dataclass(frozen=True)
class OnnxParityRecord(Reader):
    """How closely the ONNX export reproduces the torch target on the clean probes."""

    PATH = "onnx.parity"

    max_abs_diff: float
    agreement: EstimateRecord
    torch_target: str

    @classmethod
    def read(cls, d: Node) -> Self:
        return cls(
            max_abs_diff=d.number("max_abs_diff"),
            agreement=EstimateRecord.read(d.node("agreement")),
            torch_target=d.text("torch_target"),
        )


@dataclass(frozen=True)
class OnnxBlock(Reader):
    """The --onnx check (onnx.results.OnnxResult, saved); absent in runs without --onnx."""

    PATH = "onnx"

    model: str
    sha256: str
    provider: str
    onnxruntime_version: str
    clean_accuracy: EstimateRecord
    parity: OnnxParityRecord | None  # None: no torch target to compare with

    @classmethod
    def read(cls, d: Node) -> Self:
        parity = d.node_or_none("parity", optional=True)
        return cls(
            model=d.text("model"),
            sha256=d.text("sha256"),
            provider=d.text("provider"),
            onnxruntime_version=d.text("onnxruntime_version"),
            clean_accuracy=EstimateRecord.read(d.node("clean_accuracy")),
            parity=None if parity is None else OnnxParityRecord.read(parity),
        )
