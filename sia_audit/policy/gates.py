"""The policy's gates: thresholds on one audit's figures and regression allowances."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator, model_validator

from sia_audit.policy.base import Strict, attribute_list


class _Gate(Strict):
    use_confidence: bool = Field(
        False,
        description="Fail only when the whole interval is past the threshold (no flaky gates).",
    )


class MaxGate(_Gate):
    """Fails when the figure (never negative) exceeds `max`."""

    max: float = Field(ge=0, allow_inf_nan=False, description="Largest allowed value.")


class MinGate(_Gate):
    """Fails when the figure is below `min`."""

    min: float = Field(allow_inf_nan=False, description="Smallest allowed value.")


class FractionMinGate(MinGate):
    """Fails when a fraction (an accuracy) is below `min`, itself in [0, 1]."""

    min: float = Field(ge=0, le=1, description="Smallest allowed fraction, in [0, 1].")


class SdarGate(MaxGate):
    """SDAR, the population std of the sensitivities (on s, or on the normalised h)."""

    on: Literal["s", "h"] = Field("s", description="Compute SDAR on s or on h.")


class SensitivityGate(MaxGate):
    """Per-attribute sensitivity ceiling, for all attributes or only the protected ones."""

    normalised: bool = Field(False, description="Gate h_k = s_k / sum(s) instead of s_k.")
    attributes: tuple[str, ...] | Literal["all", "protected"] = Field(
        "protected", description="Which attributes the ceiling applies to."
    )
    _attributes = field_validator("attributes")(attribute_list)


class AttributeEffectGate(MaxGate):
    """Ceiling on the attribute effect: the target's mean loss drop when one
    attribute's change alone is undone in the final adversaries. Unlike s, which signed steps
    make similar for every attribute with a consistent gradient, it says how much of the
    attack an attribute carried."""

    attributes: tuple[str, ...] | Literal["all", "protected"] = Field(
        "protected", description="Which attributes the ceiling applies to."
    )
    _attributes = field_validator("attributes")(attribute_list)


class PathShareGate(MaxGate):
    """Ceiling on an attribute's path share: the fraction of the attack's first-order
    loss increase that its moves carried. A share, unlike the effect's loss drop, does not grow
    with how wrong a model already is, so one threshold means the same for every model."""

    attributes: tuple[str, ...] | Literal["all", "protected"] = Field(
        "protected", description="Which attributes the ceiling applies to."
    )
    _attributes = field_validator("attributes")(attribute_list)


class WeightedSensitivityGate(MaxGate):
    """Ceiling on the weighted sensitivity w_k: s_k times attribute k's share of the attack's
    loss increase (metrics.weighted). s alone is large for every attribute a signed step can
    move; w keeps it only as far as the loss rode on the move. Set the threshold on truthful
    models of the same task: a No_Beard model leans on the moustache by right
    (docs/validity.md)."""

    attributes: tuple[str, ...] | Literal["all", "protected"] = Field(
        "protected", description="Which attributes the ceiling applies to."
    )
    _attributes = field_validator("attributes")(attribute_list)


class FlipRateGate(MaxGate):
    """Ceiling on an attribute's flip rate (metrics.counterfactual): the fraction of probes
    whose right/wrong changes when that attribute alone is flipped in the generator's input.
    A rate of answers, not a loss, so one threshold reads the same for every model and label.
    The label and its exclusive partners are never gated (their flip changes the truth)."""

    attributes: tuple[str, ...] | Literal["all", "protected"] = Field(
        "protected", description="Which attributes the ceiling applies to."
    )
    _attributes = field_validator("attributes")(attribute_list)


class PerAttackMaxGate(_Gate):
    """A ceiling per attack name (e.g. full: 0.5, pgd: 0.9)."""

    max: dict[str, float] = Field(description="Attack name -> largest allowed value.")


class PerAttackMinGate(_Gate):
    """A floor per attack name."""

    min: dict[str, float] = Field(description="Attack name -> smallest allowed value.")


class RegressionSection(Strict):
    """Largest allowed change against `--baseline` (same probes, generator and attack).

    A change fails when it is both material (its estimate exceeds the allowance) and, with
    `use_confidence`, significant (its paired interval lies beyond 0). The per-attribute
    figures are tested on every gated attribute at once, with intervals simultaneous over all
    of those tests, so gating many attributes does not multiply false alarms.
    """

    use_confidence: bool = Field(
        True,
        description="Fail only when the change is also significant: its paired interval "
        "(simultaneous over the per-attribute tests) lies beyond 0. Off: the estimate alone.",
    )
    attributes: tuple[str, ...] | Literal["all", "protected"] = Field(
        "all",
        description="The attributes whose per-attribute figures are compared: all (every "
        "measurable attribute; those the generator cannot draw are skipped), protected, or a "
        "list (an unmeasurable one there follows editability.on_unmeasurable).",
    )
    _attributes = field_validator("attributes")(attribute_list)
    sdar_increase: float | None = Field(None, ge=0, description="SDAR may rise by this much.")
    sensitivity_increase: float | None = Field(
        None, ge=0, description="Any gated attribute's s may rise by this much."
    )
    weighted_increase: float | None = Field(
        None,
        ge=0,
        description="Any gated attribute's w (weighted sensitivity) may rise by this much. "
        "Needs per-probe attribute effects in both reports (written since they were saved).",
    )
    flip_rate_increase: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Any gated attribute's flip rate (the fraction of probes whose right/wrong "
        "changes when the attribute alone is flipped) may rise by this much.",
    )
    flip_loss_increase: float | None = Field(
        None,
        ge=0,
        description="Any gated attribute's flip loss (the mean |loss change| when it alone is "
        "flipped) may rise by this much.",
    )
    flip_loss_relative_increase: float | None = Field(
        None,
        ge=0,
        allow_inf_nan=False,
        description="Any gated attribute's flip loss may also rise by this many times the "
        "baseline's own flip loss on that attribute: the allowance is the larger of the two. "
        "A model that learnt its label weakly moves its loss more on every flip, and two such "
        "models differ more seed to seed; 3 lets an attribute's flip loss grow up to 4-fold.",
    )
    flip_loss_cap: float | None = Field(
        None,
        gt=0,
        allow_inf_nan=False,
        description="Count each probe's |loss change| up to this much in the flip loss a "
        "regression compares (a clipped mean; both allowances read it too). A network that "
        "leaves a few faces with very large loss changes widens the paired interval so far "
        "that a real rise is not sure on 64 probes. For a classifier's cross-entropy, 1 is a "
        "flip that cuts the right answer's probability e-fold. Unset: no cap.",
    )
    attack_success_rate_increase: float | None = Field(
        None, ge=0, description="The main attack's ASR may rise by this much."
    )
    clean_accuracy_decrease: float | None = Field(
        None, ge=0, description="Clean accuracy may fall by this much."
    )

    @model_validator(mode="after")
    def _cap_caps_something(self) -> RegressionSection:
        if self.flip_loss_cap is not None and (
            self.flip_loss_increase is None and self.flip_loss_relative_increase is None
        ):
            raise ValueError(
                "flip_loss_cap caps the flip loss, which this section does not compare: add "
                "flip_loss_increase (or flip_loss_relative_increase), or remove the cap"
            )
        return self


class OnnxParityGate(Strict):
    """How closely the ONNX export (`--onnx`) must reproduce the torch target on the clean
    probes. Checked on the figures themselves (no interval): parity is exact or it is not."""

    max_abs_diff: float | None = Field(
        None,
        ge=0,
        allow_inf_nan=False,
        description="Largest allowed absolute difference of any raw output element (logit, "
        "heatmap value, coordinate) between ONNX Runtime and torch, over all probes.",
    )
    min_agreement: float | None = Field(
        None,
        ge=0,
        le=1,
        description="Smallest allowed fraction of probes on which both predict the same.",
    )

    @model_validator(mode="after")
    def _something(self) -> OnnxParityGate:
        if self.max_abs_diff is None and self.min_agreement is None:
            raise ValueError("onnx_parity needs max_abs_diff, min_agreement or both")
        return self


class GatesSection(Strict):
    """The policy's thresholds; a missing gate is not checked."""

    sdar: SdarGate | None = None
    sensitivity: SensitivityGate | None = None
    attribute_effect: AttributeEffectGate | None = None
    path_share: PathShareGate | None = Field(
        None, description="Ceiling on each attribute's share of the attack's loss increase."
    )
    weighted_sensitivity: WeightedSensitivityGate | None = Field(
        None, description="Ceiling on each attribute's s times its share of the loss increase."
    )
    flip_rate: FlipRateGate | None = Field(
        None,
        description="Ceiling on each attribute's counterfactual flip rate: how often flipping it "
        "alone changes whether the target is right.",
    )
    clean_accuracy: FractionMinGate | None = None
    reconstruction_accuracy: FractionMinGate | None = None
    attack_success_rate: PerAttackMaxGate | None = None
    robust_accuracy: PerAttackMinGate | None = None
    psnr: MinGate | None = None
    onnx_clean_accuracy: FractionMinGate | None = Field(
        None, description="Clean accuracy of the --onnx model on the probes, run by ONNX Runtime."
    )
    onnx_parity: OnnxParityGate | None = Field(
        None, description="Agreement of the --onnx model with the torch target."
    )
    regression: RegressionSection | None = None


# The gates with an `attributes` list, checked against the generator's names before any attack.
PER_ATTRIBUTE_GATES = (
    "sensitivity",
    "attribute_effect",
    "path_share",
    "weighted_sensitivity",
    "flip_rate",
    "regression",
)
