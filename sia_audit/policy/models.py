"""The audit policy as pydantic models: unknown keys are errors, every field documented."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator, model_validator

from sia_audit import defaults
from sia_audit.attacks.config import AttackConfig
from sia_audit.attacks.variants import PIXEL_VARIANTS, check_plan
from sia_audit.defaults import PRESET, PRESETS
from sia_audit.errors import SiaAuditError
from sia_audit.policy.base import Strict as _Strict
from sia_audit.policy.base import pixel_units as _pixel_units
from sia_audit.policy.base import unique as _unique
from sia_audit.policy.gates import (
    PER_ATTRIBUTE_GATES,
    GatesSection,
    PerAttackMaxGate,
)
from sia_audit.sources import SYNTHFACES
from sia_audit.task_names import TASK_NAMES

if TYPE_CHECKING:  # a Literal built at run time is no type to a static checker
    TaskName = str
    PresetName = str
else:
    TaskName = Literal[TASK_NAMES]  # the tasks sia_audit.targets.tasks registers
    PresetName = Literal[tuple(PRESETS)]  # the named step schedules
_START = PRESETS[PRESET]  # the step schedule of a policy that names no preset


class TargetSection(_Strict):
    """The target's contract, merged key by key over the `sia_target.json` the model embeds:
    a key given here wins over the model's. Without an embedded contract, give it in full."""

    task: TaskName | None = Field(None, description="What the model outputs.")
    label: str | None = Field(None, description="Binary targets: the attribute predicted.")
    classes: tuple[str, ...] | None = Field(
        None,
        description="Multiclass targets: the probe attributes its logits stand for, in order "
        "(`none`: no other class is on); a probe's label is the one that is on.",
    )
    input_size: tuple[int, int] | None = Field(None, description="[height, width] in pixels.")
    mean: tuple[float, float, float] | None = Field(None, description="RGB normalisation mean.")
    std: tuple[float, float, float] | None = Field(None, description="RGB normalisation std.")
    num_classes: int | None = Field(None, ge=2, description="Multiclass: number of classes.")
    num_keypoints: int | None = Field(None, ge=1, description="Keypoint targets: points.")
    heatmap_sigma: float | None = Field(None, gt=0, description="Heatmap Gaussian sigma (px).")
    nme_failure: float | None = Field(None, gt=0, description="NME above which a point set fails.")

    def contract_overrides(self) -> dict[str, object]:
        """The fields the policy sets, to merge over the embedded contract."""
        return {k: v for k, v in self.model_dump().items() if v is not None}


class ProbesSection(_Strict):
    """The fixed probe set: the built-in synthetic faces or a CelebA-format folder."""

    source: str = Field(SYNTHFACES, description=f"{SYNTHFACES} or a CelebA-format folder path.")
    count: int = Field(
        defaults.PROBE_COUNT, ge=1, description="Number of probes (synthfaces, or first N)."
    )
    seed: int = Field(0, ge=0, description="Seed of the synthetic faces.")
    size: int = Field(64, description="Image side in pixels (must match the generator).")
    split: Literal["train", "val", "test"] | None = Field(
        None, description="CelebA folders: the split to take the first `count` images from."
    )
    center_crop: int | None = Field(
        None, ge=1, description="CelebA folders: CenterCrop size before resizing (CelebA: 170)."
    )


class GeneratorSection(_Strict):
    """The generator the attack goes through, and the classifier that judges its edits."""

    source: str = Field(
        SYNTHFACES,
        description=f"{SYNTHFACES}, a checkpoint file or an AttGAN-PyTorch experiment folder.",
    )
    attribute_classifier: str | None = Field(
        None,
        description="A TorchScript attribute classifier (logits, names in its "
        "sia_classifier.json) for the editability check. Default: the shipped one for "
        f"{SYNTHFACES}, the discriminator's attribute head for an AttGAN-PyTorch folder "
        "whose weights carry D; otherwise editability is not measured.",
    )


class EditabilitySection(_Strict):
    """The editability check: can the generator draw each attribute's change?"""

    min_expression: float = Field(
        defaults.MIN_EXPRESSION,
        ge=0,
        le=1,
        allow_inf_nan=False,
        description="An attribute whose expression rate (the fraction of probes where flipping "
        "it moves the classifier's prediction across 0.5 the right way) is below this is "
        "unmeasurable with this generator: shown as such and left out of h and SDAR.",
    )
    on_unmeasurable: Literal["fail", "skip"] = Field(
        "fail",
        description="A gate on an unmeasurable attribute: `fail` (its verdict `unmeasurable` "
        "fails the run; a CI gate must not pass on what it cannot measure) or `skip`.",
    )


FlagLevel = Literal["fail", "warn"]
_FLAG_HELP = "fail: a raised flag fails the run (exit 1); warn (default): it is only reported."


class FlagsSection(_Strict):
    """Validity flags: checks that the audit's figures can be trusted."""

    probabilities_not_logits: FlagLevel = Field(
        "warn", description="A logit task's outputs all lie in [0, 1]. " + _FLAG_HELP
    )
    vanishing_gradients: FlagLevel = Field(
        "warn", description="Over a quarter of the probes have no gradient. " + _FLAG_HELP
    )
    pgd_weaker_than_fgsm: FlagLevel = Field(
        "warn", description="PGD's adversaries have a lower mean loss than FGSM's. " + _FLAG_HELP
    )
    loss_not_raised: FlagLevel = Field(
        "warn", description="The attack did not raise the loss on most probes. " + _FLAG_HELP
    )
    low_reconstruction_accuracy: FlagLevel = Field(
        "warn",
        description="Accuracy on G(x0, a0) below the reconstruction_accuracy gate's min "
        "(0.9 without that gate). " + _FLAG_HELP,
    )
    unmeasurable_attributes: FlagLevel = Field(
        "warn", description="The generator cannot draw some attributes. " + _FLAG_HELP
    )
    editability_not_measured: FlagLevel = Field(
        "fail",
        description="No attribute classifier judged the generator's edits, so nothing says "
        "which attributes it can draw. fail (default): a raised flag fails the run, since a CI "
        "gate must not pass on what it cannot measure; warn: it is only reported.",
    )
    pixel_level_failures: FlagLevel = Field(
        "warn",
        description="The image step carried most (over half) of the attack's loss increase and "
        "FGSM at the same eps_x flips as many probes as SIA: the failures are pixel-level, not "
        "semantic. Without an FGSM baseline: the image carried 90% or more. " + _FLAG_HELP,
    )

    def levels(self) -> dict[str, FlagLevel]:
        return dict(self.model_dump())


class AttackSection(_Strict):
    """The SIA attack and its pixel baselines. Epsilons accept '1.5/255'.

    Keys left out take the values of `preset`: `ci` (the default: 50 steps of 1/255) or
    `paper` (the paper's 200 steps of 0.25/255); both move as far in total.
    """

    preset: PresetName = Field(
        PRESET,
        description="Where the step schedule's unset keys come from: ci (50 steps, eta 1/255) "
        "or paper (200 steps, eta 0.25/255, the paper's setting).",
    )
    variant: str = Field(
        defaults.VARIANT, description="The main attack: a variant that moves attributes."
    )
    steps: int = Field(int(_START["steps"]), ge=1, description="Iterations T.")
    eta_x: float = Field(_START["eta_x"], gt=0, description="Image step size, [0, 1] units.")
    eta_a: float = Field(_START["eta_a"], gt=0, description="Attribute step size.")
    eps_x: float = Field(_START["eps_x"], ge=0, description="Image L-inf radius, [0, 1] units.")
    partial_steps: int = Field(
        int(_START["partial_steps"]), ge=0, description="Steps of the partial variants."
    )
    radii: dict[str, float] = Field(
        default_factory=dict,
        description="Per-attribute radius overrides in [0, 1]; the target's label is 0 by default.",
    )
    baselines: tuple[str, ...] | None = Field(
        None,
        description="Pixel attacks run at the same eps_x for comparison (fgsm, pgd). Left out: "
        "those a gate names (attack_success_rate, robust_accuracy) or a validity flag set to "
        "fail reads (pgd_weaker_than_fgsm: both, pixel_level_failures: fgsm); none by default.",
    )
    _unique_baselines = field_validator("baselines")(_unique)
    batch_size: int = Field(
        defaults.BATCH_SIZE, ge=1, description="Probes per batch (bounds memory)."
    )
    autocast_bf16: bool = Field(
        defaults.AUTOCAST_BF16,
        description="Run G and the target under bf16 autocast (CUDA or CPU): about 2x faster on "
        "CPUs with AMX, figures differ slightly from float32; reports compare only like with like.",
    )
    torch_compile: bool = Field(
        defaults.TORCH_COMPILE,
        description="Compile G and the target with torch.compile (TorchInductor: a C++ compiler "
        "on CPU, Triton on CUDA). Same figures up to float rounding; costs about a minute of "
        "compilation per process, so it can pay only on long GPU runs (docs/performance.md).",
    )
    cuda_graphs: bool = Field(
        defaults.CUDA_GRAPHS,
        description="With torch_compile on a CUDA device: also record CUDA graphs "
        "(mode='reduce-overhead'). CUDA only; an error elsewhere.",
    )

    _units = field_validator("eta_x", "eta_a", "eps_x", mode="before")(_pixel_units)

    @model_validator(mode="before")
    @classmethod
    def _fill_from_preset(cls, data: object) -> object:
        if isinstance(data, dict) and data.get("preset", PRESET) in PRESETS:
            return {**PRESETS[data.get("preset", PRESET)], **data}
        return data

    @field_validator("radii")
    @classmethod
    def _radii(cls, v: dict[str, float]) -> dict[str, float]:
        bad = {k: r for k, r in v.items() if not 0.0 <= r <= 1.0}
        if bad:
            raise ValueError(f"radii must lie in [0, 1], got {bad}")
        return v

    @model_validator(mode="after")
    def _checked_by_the_engine(self) -> AttackSection:
        # The engine's own checks (variant names, the main/baseline rules, partial steps), so
        # that a policy fails here, with its file and line, and not after loading the models.
        try:
            check_plan(self.variant, self.baselines or ())
            self.to_config()
        except SiaAuditError as exc:
            raise ValueError(str(exc)) from None
        if self.cuda_graphs and not self.torch_compile:
            raise ValueError("cuda_graphs needs torch_compile: true")
        return self

    def to_config(self) -> AttackConfig:
        """The main attack's engine configuration."""
        return AttackConfig(
            variant=self.variant,
            steps=self.steps,
            eta_x=self.eta_x,
            eta_a=self.eta_a,
            eps_x=self.eps_x,
            partial_steps=self.partial_steps,
            autocast_bf16=self.autocast_bf16,
        )


class BootstrapSection(_Strict):
    """Percentile bootstrap over probes for every figure's interval."""

    resamples: int = Field(defaults.BOOTSTRAP_RESAMPLES, ge=1, description="Number of resamples.")
    seed: int = Field(defaults.BOOTSTRAP_SEED, ge=0, description="Seed of the resampling.")
    level: float = Field(
        defaults.BOOTSTRAP_LEVEL, gt=0, lt=1, description="Two-sided confidence level."
    )


class Policy(_Strict):
    """A sia-audit policy file."""

    version: Literal[1] = Field(1, description="Policy format version.")
    target: TargetSection | None = Field(None, description="Contract overrides for the target.")
    probes: ProbesSection = Field(default_factory=ProbesSection)
    generator: GeneratorSection = Field(
        default_factory=GeneratorSection,
        description="The generator: a source string, or a section with `source` and "
        "`attribute_classifier`.",
    )
    editability: EditabilitySection = Field(default_factory=EditabilitySection)
    flags: FlagsSection = Field(default_factory=FlagsSection)
    attack: AttackSection = Field(default_factory=AttackSection)
    bootstrap: BootstrapSection = Field(default_factory=BootstrapSection)
    protected: tuple[str, ...] = Field(
        (), description="Attributes whose sensitivity the policy protects (marked in reports)."
    )
    subpopulations: tuple[str, ...] = Field(
        defaults.SUBPOPULATIONS, description="Binary attributes to split the sensitivity by."
    )
    gates: GatesSection = Field(default_factory=GatesSection)

    _unique_names = field_validator("protected", "subpopulations")(_unique)

    @field_validator("generator", mode="before")
    @classmethod
    def _generator_string(cls, v: object) -> object:
        return {"source": v} if isinstance(v, str) else v

    def pixel_baselines(self) -> tuple[str, ...]:
        """The pixel baselines the audit runs: those `attack.baselines` lists; when it is left
        out, those a gate names and those a validity flag set to `fail` reads (in that order)."""
        if self.attack.baselines is not None:
            return self.attack.baselines
        named: list[str] = []
        if self.gates.attack_success_rate is not None:
            named += self.gates.attack_success_rate.max
        if self.gates.robust_accuracy is not None:
            named += self.gates.robust_accuracy.min
        levels = self.flags.levels()
        for flag, attacks in defaults.FLAG_BASELINES.items():
            if levels[flag] == "fail":
                named += attacks
        out: list[str] = []
        for name in named:  # another name is the main attack, or an error said below
            if name in PIXEL_VARIANTS and name not in out:
                out.append(name)
        return tuple(out)

    @model_validator(mode="after")
    def _cross_checks(self) -> Policy:
        for name in PER_ATTRIBUTE_GATES:
            gate = getattr(self.gates, name)
            if gate is not None and gate.attributes == "protected" and not self.protected:
                raise ValueError(
                    f"gates.{name} applies to the protected attributes, but `protected` is empty"
                )
        if self.gates.psnr is not None and self.gates.psnr.min > 100:
            raise ValueError("gates.psnr.min above 100 dB can never pass (PSNR is capped at 100)")
        for name, gate in (
            ("attack_success_rate", self.gates.attack_success_rate),
            ("robust_accuracy", self.gates.robust_accuracy),
        ):
            if gate is None:
                continue
            limits = gate.max if isinstance(gate, PerAttackMaxGate) else gate.min
            known = {self.attack.variant, *self.pixel_baselines()}
            unknown = sorted(set(limits) - known)
            if unknown:
                raise ValueError(f"gates.{name} names attacks {unknown} the policy does not run")
            if any(not 0.0 <= v <= 1.0 for v in limits.values()):
                raise ValueError(f"gates.{name} thresholds are rates: keep them in [0, 1]")
        return self
