"""Validity flags: tiny models made to trip each one, and a clean audit that trips none."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace

import pytest
import torch
from torch import nn

from sia_audit.attacks.config import AttackConfig
from sia_audit.audit import AuditConfig, audit
from sia_audit.gates.flags import DEFAULT_LEVELS, FLAGS, validity_flags
from sia_audit.metrics import BootstrapConfig
from sia_audit.targets.contract import Target, TargetContract
from tests.attacks.conftest import binary_target, small_cnn, tiny_attgan
from tests.core.test_audit import FakeProbes

CONFIG = AuditConfig(
    attack=AttackConfig(steps=4, eta_x=2 / 255, eta_a=0.05, eps_x=4 / 255),
    bootstrap=BootstrapConfig(resamples=50),
    effects=False,
)
CONTRACT = TargetContract("binary", (24, 24), (0.5, 0.4, 0.3), (0.25, 0.3, 0.2), label="Eyeglasses")


class Logits(nn.Module):
    """A confident classifier: logits of several units either side of 0, as a trained one has
    (the tiny CNN's own are all near 0.1; `center` is its median on the probes)."""

    def __init__(self) -> None:
        super().__init__()
        self.net = small_cnn(1)
        self.center = 0.0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (self.net(x) - self.center) * 200


class Sigmoid(Logits):
    """The same classifier exported with its final sigmoid: probabilities, not logits."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(super().forward(x))


class Rounded(nn.Module):
    """Its logit goes through round(): the value moves in steps, the gradient is zero."""

    def __init__(self) -> None:
        super().__init__()
        self.net = small_cnn(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.round(self.net(x) * 4)


def audited(model: nn.Module | Target):  # noqa: ANN201 - (AuditResult, Target)
    target = model if isinstance(model, Target) else Target(model.eval(), CONTRACT)
    probes = FakeProbes(n=8)
    if isinstance(model, Logits):
        with torch.no_grad():
            x = target.adapt(probes.load_images(range(8)))
            model.center = float(model.net(x).median())
    return audit(probes, tiny_attgan(), target, CONFIG), target


def flags_of(model: nn.Module | Target, floor: float = 0.0) -> dict[str, SimpleNamespace]:
    result, target = audited(model)
    levels = {name: "warn" for name in FLAGS}
    return {f.name: f for f in validity_flags(result, target.task, levels, floor)}


def test_a_sigmoid_output_is_flagged_as_probabilities() -> None:
    flag = flags_of(Sigmoid())["probabilities_not_logits"]
    assert flag.raised and "probabilities, not logits" in flag.message
    assert not flags_of(Logits())["probabilities_not_logits"].raised
    # A weak model's small logits may all lie in [0, 1]: without the spread, no alarm.
    assert not flags_of(binary_target())["probabilities_not_logits"].raised


def test_a_rounded_output_has_no_gradient_and_the_attack_does_not_raise_the_loss() -> None:
    flags = flags_of(Rounded())
    assert (
        flags["vanishing_gradients"].raised
        and "8 of 8 probes" in flags["vanishing_gradients"].message
    )
    assert flags["loss_not_raised"].raised
    healthy = flags_of(binary_target())
    assert not healthy["vanishing_gradients"].raised and not healthy["loss_not_raised"].raised


def test_reconstruction_accuracy_below_the_floor() -> None:
    # A random tiny generator draws nothing the random target reads right on every probe.
    assert flags_of(binary_target(), floor=1.01)["low_reconstruction_accuracy"].raised
    assert not flags_of(binary_target(), floor=0.0)["low_reconstruction_accuracy"].raised


def fake(pgd_loss: float, fgsm_loss: float) -> SimpleNamespace:
    def attack(loss: float) -> SimpleNamespace:
        return SimpleNamespace(probes=SimpleNamespace(loss_adv=torch.full((4,), loss)))

    return SimpleNamespace(attacks={"pgd": attack(pgd_loss), "fgsm": attack(fgsm_loss)})


def test_pgd_weaker_than_fgsm() -> None:
    # A gradient broken in a way that makes many small steps lose to one big one is hard to
    # build in a few lines; the check itself reads the two attacks' mean adversarial losses.
    from sia_audit.gates.flags import _pgd_vs_fgsm

    raised, message = _pgd_vs_fgsm(fake(0.3, 0.5))  # type: ignore[arg-type]
    assert raised and "PGD 0.3, FGSM 0.5" in message
    assert not _pgd_vs_fgsm(fake(0.9, 0.5))[0]  # type: ignore[arg-type]


def test_levels_come_from_the_policy_and_fail_only_when_raised() -> None:
    result, sigmoid = audited(Sigmoid())
    target_task = sigmoid.task
    levels = {"probabilities_not_logits": "fail"}
    flags = {f.name: f for f in validity_flags(result, target_task, levels)}
    assert flags["probabilities_not_logits"].fails
    assert flags["vanishing_gradients"].level == "warn" and not flags["vanishing_gradients"].fails
    assert [f.name for f in validity_flags(result, target_task, levels)] == list(FLAGS)
    assert dataclasses.asdict(flags["probabilities_not_logits"])["level"] == "fail"


@pytest.mark.parametrize("name", FLAGS)
def test_every_flag_is_a_policy_key_with_the_same_default(name: str) -> None:
    from sia_audit.policy.models import FlagsSection

    assert getattr(FlagsSection(), name) == DEFAULT_LEVELS[name]
    assert DEFAULT_LEVELS[name] == ("fail" if name == "editability_not_measured" else "warn")


def test_editability_not_measured_fails_the_run_unless_the_policy_says_warn() -> None:
    """Without an attribute classifier nothing says what G can draw: no silent pass."""
    from sia_audit.policy.models import FlagsSection

    result, target = audited(binary_target())  # the tiny generator comes without a classifier
    assert result.editability is None
    flag = {f.name: f for f in validity_flags(result, target.task, {})}["editability_not_measured"]
    assert flag.raised and flag.fails and "generator.attribute_classifier" in flag.message
    lenient = FlagsSection(editability_not_measured="warn").levels()
    warned = {f.name: f for f in validity_flags(result, target.task, lenient)}
    assert (
        warned["editability_not_measured"].raised and not warned["editability_not_measured"].fails
    )


def pixel_result(share: float, sia: int, fgsm: int | None) -> SimpleNamespace:
    """A result whose image step carried `share` of the loss increase, where SIA (and FGSM, if
    run) flipped that many of 8 probes the target got right."""

    def attack(flips: int) -> SimpleNamespace:
        right = torch.ones(8, dtype=torch.bool)
        adv = torch.arange(8) >= flips
        return SimpleNamespace(probes=SimpleNamespace(correct_clean=right, correct_adv=adv))

    attacks = {"full": attack(sia)}
    if fgsm is not None:
        attacks["fgsm"] = attack(fgsm)
    path = SimpleNamespace(image_share=SimpleNamespace(value=share))
    return SimpleNamespace(path_attribution=path, attacks=attacks, main_attack="full")


@pytest.mark.parametrize(
    ("share", "sia", "fgsm", "raised", "says"),
    [
        (0.9, 3, 3, True, "the failures are pixel-level, not semantic"),
        (0.9, 3, 5, True, "FGSM alone at the same eps_x 5"),
        (0.9, 3, 2, False, "FGSM alone at the same eps_x 2"),  # the attributes found more
        (0.45, 3, 3, False, "carried 45%"),  # the attributes carried most of the loss
        (0.9, 0, 0, False, "no failure to call pixel-level"),
        (0.95, 3, None, True, "judged on the image's share alone"),
        (0.8, 3, None, False, "judged on the image's share alone"),  # below the stricter bar
    ],
)
def test_pixel_level_failures(share: float, sia: int, fgsm, raised: bool, says: str) -> None:
    from sia_audit.gates.flags import _pixel_level

    got, message = _pixel_level(pixel_result(share, sia, fgsm))  # type: ignore[arg-type]
    assert got == raised and says in message, message


def test_pixel_level_is_not_checked_without_path_attribution() -> None:
    from sia_audit.gates.flags import _pixel_level

    r = SimpleNamespace(path_attribution=None)
    assert _pixel_level(r) == (  # type: ignore[arg-type]
        False,
        "not checked: the attack raised no loss to attribute to pixels or attributes",
    )
