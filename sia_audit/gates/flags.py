"""Validity flags: warnings that an audit's figures cannot be trusted, AutoAttack-style.

Each flag is a check on the audit itself, not on the model's quality: a target that outputs
probabilities where logits are expected, gradients that vanish (masking), a PGD weaker than
FGSM, an attack that did not raise the loss, a generator whose reconstructions the target gets
wrong, attributes the generator cannot draw, no classifier to tell which it can draw, failures
that the pixels made rather than the attributes. A policy sets each to `fail` (the run fails)
or `warn` (the report and the job say it); DEFAULT_LEVELS says which fail unless told otherwise.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import torch

from sia_audit.report_schema.figures import NOT_CHECKED
from sia_audit.results import AuditResult
from sia_audit.targets.tasks import Task

Level = Literal["fail", "warn"]
FLAGS: tuple[str, ...] = (
    "probabilities_not_logits",
    "vanishing_gradients",
    "pgd_weaker_than_fgsm",
    "loss_not_raised",
    "low_reconstruction_accuracy",
    "unmeasurable_attributes",
    "editability_not_measured",
    "pixel_level_failures",
)
# A flag fails the run by default only where passing would be a silent pass: without an
# attribute classifier no attribute can be judged drawable, so no gate on one can be trusted.
DEFAULT_LEVELS: dict[str, Level] = {
    **{name: "warn" for name in FLAGS},
    "editability_not_measured": "fail",
}
VANISHING = 1e-12  # a first-step gradient norm at or below this is no gradient
VANISHING_SHARE = 0.25  # flag when more probes than this have none
NOT_RAISED_SHARE = 0.5  # flag when the attack failed to raise the loss on more than this
DEFAULT_RECONSTRUCTION_FLOOR = 0.9  # without a reconstruction_accuracy gate in the policy
PROBABILITY_SPREAD = 0.5  # outputs in [0, 1] spanning at least this look like probabilities
PIXEL_SHARE = 0.5  # the image's share of the loss increase above which it carried most of it
PIXEL_SHARE_ALONE = 0.9  # the bar without FGSM to compare with: nearly all of it


@dataclass(frozen=True)
class ValidityFlag:
    """One check of the audit's validity: raised or not, what it measured, what to do."""

    name: str
    raised: bool
    level: Level
    message: str

    @property
    def fails(self) -> bool:
        return self.raised and self.level == "fail"

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "raised": self.raised, "level": self.level,
                "message": self.message}  # fmt: skip


def validity_flags(
    result: AuditResult,
    task: Task,
    levels: Mapping[str, Level],
    reconstruction_floor: float = DEFAULT_RECONSTRUCTION_FLOOR,
) -> tuple[ValidityFlag, ...]:
    """Every flag, in FLAGS order, raised or not, at the policy's level (DEFAULT_LEVELS for a
    flag `levels` does not name)."""
    checks = {
        "probabilities_not_logits": _probabilities(result, task),
        "vanishing_gradients": _vanishing(result),
        "pgd_weaker_than_fgsm": _pgd_vs_fgsm(result),
        "loss_not_raised": _not_raised(result),
        "low_reconstruction_accuracy": _reconstruction(result, reconstruction_floor),
        "unmeasurable_attributes": _unmeasurable(result),
        "editability_not_measured": _not_measured(result),
        "pixel_level_failures": _pixel_level(result),
    }
    return tuple(
        ValidityFlag(name, raised, levels.get(name, DEFAULT_LEVELS[name]), message)
        for name, (raised, message) in checks.items()
    )


def _probabilities(result: AuditResult, task: Task) -> tuple[bool, str]:
    d = result.main.probes
    if not task.outputs_logits or d.output_min is None or d.output_max is None:
        return False, f"{NOT_CHECKED}the {task.name} task's outputs are not logits"
    low, high = float(d.output_min.min()), float(d.output_max.max())
    # A classifier's probabilities spread towards 0 and 1; small logits of a weak model that
    # happen to lie in [0, 1] do not (SPREAD keeps those from raising a false alarm).
    if low >= 0.0 and high <= 1.0 and high - low >= PROBABILITY_SPREAD:
        return True, (
            f"every output of the target on the {len(d.names)} clean probes lies in [0, 1] "
            f"({low:.3g} to {high:.3g}): probabilities, not logits. The loss saturates and the "
            "attack measures little; audit the model without its final sigmoid or softmax"
        )
    return False, f"outputs range over [{low:.3g}, {high:.3g}]: logits, as the task expects"


def _vanishing(result: AuditResult) -> tuple[bool, str]:
    g = result.main.probes.first_grad
    if g is None:
        return False, NOT_CHECKED + "the main attack records no gradient"
    none = (~torch.isfinite(g)) | (g <= VANISHING)
    share = float(none.float().mean())
    text = (
        f"{int(none.sum())} of {g.numel()} probes have a zero or non-finite loss gradient at "
        f"the attack's first step (median norm {float(g.median()):.3g})"
    )
    if share > VANISHING_SHARE:
        return True, text + (
            ": gradient masking (a hard threshold, a detached branch, a saturated output). "
            "Sensitivities measured by gradient steps are meaningless there; audit a "
            "differentiable version of the model"
        )
    return False, text


def _pgd_vs_fgsm(result: AuditResult) -> tuple[bool, str]:
    if "pgd" not in result.attacks or "fgsm" not in result.attacks:
        return False, NOT_CHECKED + "the policy runs PGD and FGSM not both"
    pgd = float(result.attacks["pgd"].probes.loss_adv.mean())
    fgsm = float(result.attacks["fgsm"].probes.loss_adv.mean())
    text = f"mean loss of the adversaries: PGD {pgd:.4g}, FGSM {fgsm:.4g} at the same eps_x"
    if pgd < fgsm:
        return True, text + (
            ": many steps did worse than one, a sign of a broken gradient or too small a step; "
            "the attack success figures are not to be trusted"
        )
    return False, text


def _not_raised(result: AuditResult) -> tuple[bool, str]:
    d = result.main.probes
    failed = d.loss_adv <= d.loss_start
    share = float(failed.float().mean())
    text = (
        f"the {result.main_attack} attack raised the target's loss on {int((~failed).sum())} "
        f"of {failed.numel()} probes"
    )
    if share > NOT_RAISED_SHARE:
        return True, text + (
            ": on most probes it did not, so the attribute moves it measured carried nothing; "
            "check the step sizes and that the model is differentiable"
        )
    return False, text


def _reconstruction(result: AuditResult, floor: float) -> tuple[bool, str]:
    acc = result.reconstruction_accuracy.value
    text = f"accuracy on the reconstructions G(x0, a0): {acc:.3g} (floor {floor:g})"
    if acc < floor:
        return True, text + (
            ": the target already fails on what the generator draws, so every sensitivity is "
            "partly the generator's; train the target on reconstructions too"
        )
    return False, text


def _unmeasurable(result: AuditResult) -> tuple[bool, str]:
    e = result.editability
    if e is None:
        return False, NOT_CHECKED + "no attribute classifier judged the generator's edits"
    if e.unmeasurable:
        return True, (
            f"the generator cannot draw {', '.join(e.unmeasurable)} (expression rate below "
            f"{e.min_expression:g}): their sensitivity says nothing about the model"
        )
    return False, f"the generator draws every attribute (expression rate >= {e.min_expression:g})"


def _not_measured(result: AuditResult) -> tuple[bool, str]:
    e = result.editability
    if e is not None:
        return False, f"the generator's edits were judged by {e.classifier}"
    return True, (
        "no attribute classifier judged the generator's edits, so nothing says which attributes "
        "it can draw: one it cannot draw looks insensitive (or sensitive) for no reason of the "
        "model's, and a gate on it would pass on what was not measured. Name one in "
        "generator.attribute_classifier (a TorchScript model of the generator's attributes), "
        "or use an AttGAN-PyTorch folder whose weights keep D; "
        "flags: {editability_not_measured: warn} accepts the risk"
    )


def _flips(result: AuditResult, attack: str) -> int:
    d = result.attacks[attack].probes
    return int((d.correct_clean & ~d.correct_adv).sum())


def _pixel_level(result: AuditResult) -> tuple[bool, str]:
    """Most of the loss increase came from the image step, and the attribute moves added no
    failure a pixel attack does not find: the failures are pixel-level, not semantic."""
    path = result.path_attribution
    if path is None:
        return False, NOT_CHECKED + "the attack raised no loss to attribute to pixels or attributes"
    share = path.image_share.value
    sia = _flips(result, result.main_attack)
    text = (
        f"the image step carried {share:.0%} of the {result.main_attack} attack's first-order "
        f"loss increase; it flipped {sia} probes"
    )
    if sia == 0:
        return False, text + ": no failure to call pixel-level"
    if "fgsm" in result.attacks:
        fgsm = _flips(result, "fgsm")
        text += f", FGSM alone at the same eps_x {fgsm}"
        if share > PIXEL_SHARE and fgsm >= sia:
            return True, text + (
                ": the failures are pixel-level, not semantic. The attributes the report ranks "
                "first carried the lesser part of the loss and found nothing a pixel attack "
                "does not; read them as the model's pixel robustness, not an attribute bias"
            )
        return False, text
    text += " (FGSM was not run, so this is judged on the image's share alone)"
    if share >= PIXEL_SHARE_ALONE:
        return True, text + (
            f": at least {PIXEL_SHARE_ALONE:.0%} of the loss came from pixels, so the failures "
            "are most likely pixel-level, not semantic; add fgsm to attack.baselines to tell"
        )
    return False, text
