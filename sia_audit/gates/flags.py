"""Validity flags (SPEC 6c): warnings that an audit's figures cannot be trusted, AutoAttack-style.

Each flag is a check on the audit itself, not on the model's quality: a target that outputs
probabilities where logits are expected, gradients that vanish (masking), a PGD weaker than
FGSM, an attack that did not raise the loss, a generator whose reconstructions the target gets
wrong, attributes the generator cannot draw. A policy sets each to `fail` (the run fails) or
`warn` (the default: the report and the job say it).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import torch

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
)
VANISHING = 1e-12  # a first-step gradient norm at or below this is no gradient
VANISHING_SHARE = 0.25  # flag when more probes than this have none
NOT_RAISED_SHARE = 0.5  # flag when the attack failed to raise the loss on more than this
DEFAULT_RECONSTRUCTION_FLOOR = 0.9  # without a reconstruction_accuracy gate in the policy
PROBABILITY_SPREAD = 0.5  # outputs in [0, 1] spanning at least this look like probabilities


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
    """Every flag, in FLAGS order, raised or not, at the policy's level."""
    checks = {
        "probabilities_not_logits": _probabilities(result, task),
        "vanishing_gradients": _vanishing(result),
        "pgd_weaker_than_fgsm": _pgd_vs_fgsm(result),
        "loss_not_raised": _not_raised(result),
        "low_reconstruction_accuracy": _reconstruction(result, reconstruction_floor),
        "unmeasurable_attributes": _unmeasurable(result),
    }
    return tuple(
        ValidityFlag(name, raised, levels.get(name, "warn"), message)
        for name, (raised, message) in checks.items()
    )


def _probabilities(result: AuditResult, task: Task) -> tuple[bool, str]:
    d = result.main.probes
    if not task.outputs_logits or d.output_min is None or d.output_max is None:
        return False, f"not checked: the {task.name} task's outputs are not logits"
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
        return False, "not checked: the main attack records no gradient"
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
        return False, "not checked: the policy runs PGD and FGSM not both"
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
            "partly the generator's; train the target on reconstructions too (SPEC 6a)"
        )
    return False, text


def _unmeasurable(result: AuditResult) -> tuple[bool, str]:
    e = result.editability
    if e is None:
        return False, "not checked: no attribute classifier judged the generator's edits"
    if e.unmeasurable:
        return True, (
            f"the generator cannot draw {', '.join(e.unmeasurable)} (expression rate below "
            f"{e.min_expression:g}): their sensitivity says nothing about the model"
        )
    return False, f"the generator draws every attribute (expression rate >= {e.min_expression:g})"
