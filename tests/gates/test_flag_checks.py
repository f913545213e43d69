"""Each validity flag on hand-made figures: raised past its bar, not raised on it.

tests/gates/test_flags.py trips the flags with real (tiny) audits; these build the figures a
flag reads directly, so each bar is tried on both sides and every message is read whole.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
import torch

from sia_audit.gates.flags import FLAGS, validity_flags

N = 8


def probes(**over: object) -> SimpleNamespace:
    p = SimpleNamespace(
        names=tuple(f"p{i}" for i in range(N)),
        output_min=torch.full((N,), -3.0),
        output_max=torch.full((N,), 4.0),
        first_grad=torch.full((N,), 0.5),
        loss_start=torch.zeros(N),
        loss_adv=torch.ones(N),
        correct_clean=torch.ones(N, dtype=torch.bool),
        correct_adv=torch.arange(N) >= 2,  # two probes flipped
    )
    return SimpleNamespace(**{**vars(p), **over})


def result(**over: object) -> SimpleNamespace:
    main = SimpleNamespace(probes=probes())
    fgsm = SimpleNamespace(
        probes=probes(loss_adv=torch.full((N,), 0.5), correct_adv=torch.arange(N) >= 1)
    )
    r = SimpleNamespace(
        main=main,
        main_attack="full",
        attacks={"full": main, "fgsm": fgsm,
                 "pgd": SimpleNamespace(probes=probes(loss_adv=torch.full((N,), 0.5)))},
        reconstruction_accuracy=SimpleNamespace(value=0.875),
        editability=SimpleNamespace(unmeasurable=(), min_expression=0.5, classifier="clf.pt"),
        path_attribution=SimpleNamespace(image_share=SimpleNamespace(value=0.5)),
    )  # fmt: skip
    return SimpleNamespace(**{**vars(r), **over})


LOGITS = SimpleNamespace(outputs_logits=True, name="binary")


def flags(r: SimpleNamespace, task: SimpleNamespace = LOGITS, floor: float = 0.875) -> dict:
    return {f.name: (f.raised, f.message) for f in validity_flags(r, task, {}, floor)}


CLEAN = {
    "probabilities_not_logits": (False, "outputs range over [-3, 4]: logits, as the task expects"),
    "vanishing_gradients": (False, "0 of 8 probes have a zero or non-finite loss gradient at the "
                            "attack's first step (median norm 0.5)"),
    "pgd_weaker_than_fgsm": (False, "mean loss of the adversaries: PGD 0.5, FGSM 0.5 at the same "
                             "eps_x"),
    "loss_not_raised": (False, "the full attack raised the target's loss on 8 of 8 probes"),
    "low_reconstruction_accuracy": (False, "accuracy on the reconstructions G(x0, a0): 0.875 "
                                    "(floor 0.875)"),
    "unmeasurable_attributes": (False, "the generator draws every attribute (expression rate >= "
                                "0.5)"),
    "editability_not_measured": (False, "the generator's edits were judged by clf.pt"),
    "pixel_level_failures": (False, "the image step carried 50% of the full attack's first-order "
                             "loss increase; it flipped 2 probes, FGSM alone at the same eps_x 1"),
}  # fmt: skip


def test_a_sound_audit_on_every_bar_raises_no_flag() -> None:
    """PGD equal to FGSM, reconstruction accuracy on the floor, half the loss from pixels:
    each on its bar, none raised."""
    got = validity_flags(result(), LOGITS, {}, 0.875)
    assert [f.name for f in got] == list(FLAGS)
    assert flags(result()) == CLEAN
    assert [(f.level, f.fails) for f in got] == [("warn", False)] * 6 + [("fail", False)] + [
        ("warn", False)
    ]


def test_a_raised_flag_fails_only_at_its_policy_level() -> None:
    r = result(editability=None)
    [*_, measured, _] = validity_flags(r, LOGITS, {})
    assert (measured.raised, measured.level, measured.fails) == (True, "fail", True)
    [*_, measured, _] = validity_flags(r, LOGITS, {"editability_not_measured": "warn"})
    assert (measured.level, measured.fails) == ("warn", False)
    [first, *_] = validity_flags(result(), LOGITS, {"probabilities_not_logits": "fail"})
    assert (first.raised, first.level, first.fails) == (False, "fail", False)
    assert first.as_dict() == {"name": "probabilities_not_logits", "raised": False,
                               "level": "fail", "message": first.message}  # fmt: skip


@pytest.mark.parametrize(
    ("low", "high", "raised"),
    [(0.0, 1.0, True), (0.25, 0.75, True), (0.25, 0.74, False), (-0.01, 0.9, False),
     (0.1, 1.01, False)],
)  # fmt: skip
def test_outputs_in_0_1_spread_at_least_half_look_like_probabilities(
    low: float, high: float, raised: bool
) -> None:
    r = result()
    r.main.probes.output_min = torch.full((N,), high).index_fill(0, torch.tensor([3]), low)
    r.main.probes.output_max = torch.full((N,), low).index_fill(0, torch.tensor([5]), high)
    got, message = flags(r)["probabilities_not_logits"]
    assert got == raised
    if raised:
        assert message == (
            f"every output of the target on the 8 clean probes lies in [0, 1] ({low:.3g} to "
            f"{high:.3g}): probabilities, not logits. The loss saturates and the attack measures "
            "little; audit the model without its final sigmoid or softmax"
        )


def test_probabilities_are_not_checked_where_outputs_are_not_logits() -> None:
    r = result()
    r.main.probes.output_min = None
    assert flags(r)["probabilities_not_logits"] == (
        False, "not checked: the binary task's outputs are not logits"
    )  # fmt: skip
    task = SimpleNamespace(outputs_logits=False, name="keypoints")
    assert flags(result(), task)["probabilities_not_logits"] == (
        False, "not checked: the keypoints task's outputs are not logits"
    )  # fmt: skip


@pytest.mark.parametrize(("dead", "raised"), [(2, False), (3, True)])
def test_more_than_a_quarter_without_a_gradient_is_masking(dead: int, raised: bool) -> None:
    r = result()
    grad = torch.full((N,), 0.5)
    grad[:dead] = torch.tensor([1e-12, float("nan"), 0.0])[:dead]  # at the bar, NaN, zero
    r.main.probes.first_grad = grad
    got, message = flags(r)["vanishing_gradients"]
    assert got == raised
    start = (f"{dead} of 8 probes have a zero or non-finite loss gradient at the attack's first "
             f"step (median norm {float(grad.median()):.3g})")  # fmt: skip
    assert message == start + (
        ": gradient masking (a hard threshold, a detached branch, a saturated output). "
        "Sensitivities measured by gradient steps are meaningless there; audit a "
        "differentiable version of the model"
        if raised
        else ""
    )
    r.main.probes.first_grad = None
    assert flags(r)["vanishing_gradients"] == (
        False, "not checked: the main attack records no gradient"
    )  # fmt: skip


def test_pgd_weaker_than_fgsm_is_raised_below_it() -> None:
    r = result()
    r.attacks["pgd"].probes.loss_adv = torch.full((N,), 0.25)
    assert flags(r)["pgd_weaker_than_fgsm"] == (True,
        "mean loss of the adversaries: PGD 0.25, FGSM 0.5 at the same eps_x: many steps did "
        "worse than one, a sign of a broken gradient or too small a step; the attack success "
        "figures are not to be trusted")  # fmt: skip
    del r.attacks["fgsm"]
    assert flags(r)["pgd_weaker_than_fgsm"] == (
        False, "not checked: the policy runs PGD and FGSM not both"
    )  # fmt: skip


@pytest.mark.parametrize(("failed", "raised"), [(4, False), (5, True)])
def test_the_loss_not_raised_on_most_probes_is_flagged(failed: int, raised: bool) -> None:
    r = result()
    loss = torch.ones(N)
    loss[:failed] = 0.0  # equal to the start: not raised
    r.main.probes.loss_adv = loss
    got, message = flags(r)["loss_not_raised"]
    start = f"the full attack raised the target's loss on {N - failed} of 8 probes"
    assert (got, message) == (raised, start + (
        ": on most probes it did not, so the attribute moves it measured carried nothing; "
        "check the step sizes and that the model is differentiable" if raised else ""
    ))  # fmt: skip


def test_reconstruction_accuracy_below_the_floor_is_flagged() -> None:
    assert flags(result(), floor=0.9)["low_reconstruction_accuracy"] == (True,
        "accuracy on the reconstructions G(x0, a0): 0.875 (floor 0.9): the target already fails "
        "on what the generator draws, so every sensitivity is partly the generator's; train the "
        "target on reconstructions too")  # fmt: skip
    default = {f.name: f.raised for f in validity_flags(result(), LOGITS, {})}
    assert default["low_reconstruction_accuracy"]  # 0.875 < the default floor 0.9
    on_it = result(reconstruction_accuracy=SimpleNamespace(value=0.9))
    assert not {f.name: f.raised for f in validity_flags(on_it, LOGITS, {})}[
        "low_reconstruction_accuracy"
    ]


def test_what_the_generator_cannot_draw_or_was_not_judged_is_flagged() -> None:
    e = SimpleNamespace(unmeasurable=("Bald", "Bangs"), min_expression=0.5, classifier="c")
    assert flags(result(editability=e))["unmeasurable_attributes"] == (True,
        "the generator cannot draw Bald, Bangs (expression rate below 0.5): their sensitivity "
        "says nothing about the model")  # fmt: skip
    got = flags(result(editability=None))
    assert got["unmeasurable_attributes"] == (
        False, "not checked: no attribute classifier judged the generator's edits"
    )  # fmt: skip
    assert got["editability_not_measured"] == (True,
        "no attribute classifier judged the generator's edits, so nothing says which attributes "
        "it can draw: one it cannot draw looks insensitive (or sensitive) for no reason of the "
        "model's, and a gate on it would pass on what was not measured. Name one in "
        "generator.attribute_classifier (a TorchScript model of the generator's attributes), "
        "or use an AttGAN-PyTorch folder whose weights keep D; "
        "flags: {editability_not_measured: warn} accepts the risk")  # fmt: skip


@pytest.mark.parametrize(
    ("share", "fgsm", "raised"),
    [(0.5, 2, False), (0.5625, 2, True), (0.5625, 1, False), (0.5625, None, False),
     (0.9, None, True)],
)  # fmt: skip
def test_pixel_level_failures_at_their_bars(share: float, fgsm: int | None, raised: bool) -> None:
    r = result(path_attribution=SimpleNamespace(image_share=SimpleNamespace(value=share)))
    if fgsm is None:
        del r.attacks["fgsm"]
    else:
        r.attacks["fgsm"].probes.correct_adv = torch.arange(N) >= fgsm
    assert flags(r)["pixel_level_failures"][0] == raised


PIXEL = ("the image step carried 56% of the full attack's first-order loss increase; it flipped "
         "2 probes")  # fmt: skip


def test_pixel_level_failures_say_why_in_full() -> None:
    r = result(path_attribution=SimpleNamespace(image_share=SimpleNamespace(value=0.5625)))
    r.attacks["fgsm"].probes.correct_adv = torch.arange(N) >= 2  # FGSM flips as many
    assert flags(r)["pixel_level_failures"] == (True, PIXEL + (
        ", FGSM alone at the same eps_x 2: the failures are pixel-level, not semantic. The "
        "attributes the report ranks first carried the lesser part of the loss and found nothing "
        "a pixel attack does not; read them as the model's pixel robustness, not an attribute "
        "bias"))  # fmt: skip
    del r.attacks["fgsm"]
    r.path_attribution.image_share.value = 0.9375
    assert flags(r)["pixel_level_failures"] == (True, PIXEL.replace("56%", "94%") + (
        " (FGSM was not run, so this is judged on the image's share alone): at least 90% of the "
        "loss came from pixels, so the failures are most likely pixel-level, not semantic; add "
        "fgsm to attack.baselines to tell"))  # fmt: skip
    r.main.probes.correct_adv = torch.ones(N, dtype=torch.bool)
    assert flags(r)["pixel_level_failures"] == (False, PIXEL.replace("56%", "94%").replace(
        "2 probes", "0 probes") + ": no failure to call pixel-level")  # fmt: skip


def test_the_flags_are_these_eight_and_one_fails_by_default() -> None:
    from sia_audit.gates.flags import DEFAULT_LEVELS

    names = ["probabilities_not_logits", "vanishing_gradients", "pgd_weaker_than_fgsm",
             "loss_not_raised", "low_reconstruction_accuracy", "unmeasurable_attributes",
             "editability_not_measured", "pixel_level_failures"]  # fmt: skip
    assert list(FLAGS) == names
    assert {**{n: "warn" for n in names}, "editability_not_measured": "fail"} == DEFAULT_LEVELS
