"""Frozen results of an audit: per-probe data (for reports and paired comparisons) and figures."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from torch import Tensor

from sia_audit.metrics import AttributeEffects, Estimate, Sensitivity, SubpopulationSensitivity
from sia_audit.metrics.counterfactual import CounterfactualFlips
from sia_audit.metrics.editability import Editability
from sia_audit.metrics.path import PathAttribution
from sia_audit.metrics.weighted import WeightedSensitivity
from sia_audit.onnx.results import OnnxResult

Status = Literal["pass", "fail", "skipped", "unmeasurable"]


@dataclass(frozen=True)
class ProbeData:
    """Per-probe results of one attack, CPU tensors in probe order (N on dim 0).

    `a0`/`a_T` are None for pixel attacks. `*_clean` is measured on x0; `*_start` on what the
    attack starts from (G(x0, a0) for generator attacks, x0 for pixel ones); `*_adv` on the
    adversary. `error_*` is 0/1 misclassification or NME; `correct_*` applies the task's rule.
    """

    names: tuple[str, ...]
    a0: Tensor | None
    a_T: Tensor | None
    loss_clean: Tensor
    loss_start: Tensor
    loss_adv: Tensor
    error_clean: Tensor
    error_start: Tensor
    error_adv: Tensor
    correct_clean: Tensor
    correct_start: Tensor
    correct_adv: Tensor
    psnr_x0: Tensor
    ssim_x0: Tensor
    psnr_recon: Tensor | None
    ssim_recon: Tensor | None
    effects: Tensor | None  # (N, K) loss drop when attribute k alone is reset to a0
    # (N, K) flipping k in G's input: the loss change, and whether right/wrong changed (0/1)
    flip_loss: Tensor | None = None
    flip_changed: Tensor | None = None
    path_a: Tensor | None = None  # (N, K) path attribution of each attribute
    path_x: Tensor | None = None  # (N,) the image's path term
    first_grad: Tensor | None = None  # (N,) L2 norm of the first step's gradient
    output_min: Tensor | None = None  # (N,) smallest raw output of the target on x0
    output_max: Tensor | None = None  # (N,) largest

    @property
    def delta(self) -> Tensor | None:
        """a_T - a_0 per probe, (N, K)."""
        return None if self.a_T is None or self.a0 is None else self.a_T - self.a0


@dataclass(frozen=True)
class AttackSummary:
    """The figures of one attack over the probe set, each with its bootstrap interval."""

    name: str
    config: dict[str, Any]
    robust_accuracy: Estimate
    attack_success_rate: Estimate
    psnr_x0: Estimate
    ssim_x0: Estimate
    psnr_recon: Estimate | None
    ssim_recon: Estimate | None
    mean_nme: Estimate | None  # keypoint tasks only
    failure_rate: Estimate | None
    probes: ProbeData = field(repr=False)


@dataclass(frozen=True)
class GalleryItem:
    """One probe for the report: original | reconstruction | adversary, uint8 (H, W, 3) each."""

    name: str
    original: Tensor
    reconstruction: Tensor
    adversary: Tensor
    changes: tuple[tuple[str, float], ...]  # attribute, a_T - a_0, largest first
    flipped: bool


@dataclass(frozen=True)
class AuditResult:
    """Everything an audit measured. The core never formats: reports read this."""

    attr_names: tuple[str, ...]
    frozen: tuple[str, ...]
    main_attack: str
    clean_accuracy: Estimate
    reconstruction_accuracy: Estimate
    sensitivity: Sensitivity
    subpopulations: dict[str, SubpopulationSensitivity]
    single_attribute: Sensitivity | None
    attacks: dict[str, AttackSummary]
    gallery: tuple[GalleryItem, ...]
    provenance: dict[str, Any]
    timings: dict[str, float]
    # Can the generator draw each attribute? None when no attribute classifier was available.
    editability: Editability | None = None
    # The per-attribute figures beyond s (audit.figures), by their block in report.json; None
    # where this audit cannot have one (no effects, or an attack that raised no loss).
    figures: Mapping[str, Any] = field(default_factory=dict)

    @property
    def main(self) -> AttackSummary:
        return self.attacks[self.main_attack]

    def block(self, name: str) -> Any | None:
        """A per-attribute figure by its block name: `sensitivity` and `single_attribute` are
        measured apart, the others are in `figures`. Its values are aligned with `.attributes`."""
        if name == "sensitivity":
            return self.sensitivity
        if name == "single_attribute":
            return self.single_attribute
        return self.figures.get(name)

    @property
    def effects(self) -> AttributeEffects | None:
        return self.figures.get("attribute_effect")

    @property
    def path_attribution(self) -> PathAttribution | None:
        return self.figures.get("path_attribution")

    @property
    def weighted(self) -> WeightedSensitivity | None:
        """s times the effect share (metrics.weighted); None without effects or a loss rise."""
        return self.figures.get("weighted_sensitivity")

    @property
    def flips(self) -> CounterfactualFlips | None:
        """Flip rate and flip loss per attribute (metrics.counterfactual)."""
        return self.figures.get("counterfactual_flips")


@dataclass(frozen=True)
class GateVerdict:
    """One checked threshold."""

    gate: str  # e.g. "sensitivity[Mustache]"
    status: Status
    value: float | None
    low: float | None
    high: float | None
    threshold: float | None
    bound: Literal["max", "min"] | None
    use_confidence: bool
    message: str


@dataclass(frozen=True)
class RunOutcome:
    """An audit, the gate verdicts on it, and where its inputs came from."""

    result: AuditResult
    verdicts: tuple[GateVerdict, ...]
    passed: bool
    inputs: dict[str, str]  # sha256 of target, generator, policy; probe manifest
    wall_seconds: float
    load_seconds: float  # reading the target, generator, probes and baseline
    protected: tuple[str, ...] = ()  # the policy's protected attributes, marked in reports
    onnx: OnnxResult | None = None  # the --onnx clean-accuracy and parity check, if asked
    notes: tuple[str, ...] = ()  # what the user should know that is not a gate (stderr)
    flags: tuple[Any, ...] = ()  # gates.flags.ValidityFlag, every check, raised or not
