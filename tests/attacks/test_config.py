"""AttackConfig validation names the field; the variant registry is the one list of names."""

from __future__ import annotations

import pytest

from sia_audit.attacks import VARIANTS, AttackConfig, get_variant
from sia_audit.errors import UsageError


def test_the_paper_preset_is_the_papers() -> None:
    c = AttackConfig.preset("paper")
    assert (c.variant, c.steps, c.partial_steps) == ("full", 200, 20)
    assert c.eta_x == c.eta_a == 0.25 / 255 and c.eps_x == 1.5 / 255
    assert c.as_dict()["eps_x"] == 1.5 / 255
    assert "variant='full'" in repr(c)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"variant": "sia"}, "variant"),
        ({"steps": 0}, "steps"),
        ({"steps": True}, "steps"),
        ({"eta_x": -1.0}, "eta_x"),
        ({"eta_a": float("nan")}, "eta_a"),
        ({"eps_x": "1"}, "eps_x"),
        ({"partial_steps": -1}, "partial_steps"),
        ({"variant": "attr+partial-image", "steps": 10}, "partial_steps"),
        ({"variant": "fgsm", "random_start": True}, "random_start"),
        ({"autocast_bf16": 1}, "autocast_bf16"),
        ({"seed": -3}, "seed"),
    ],
)
def test_invalid_fields_are_named(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(UsageError, match=field) as info:
        AttackConfig(**kwargs)  # type: ignore[arg-type]
    assert "\n" not in str(info.value)


def test_defaults_are_the_ci_preset_and_presets_take_overrides() -> None:
    # What an empty policy runs (tests/policy/test_policy.py checks the policy's side).
    assert AttackConfig() == AttackConfig.preset("ci")
    assert (AttackConfig().steps, AttackConfig().eta_x) == (50, 1 / 255)
    c = AttackConfig.preset("paper", variant="attr", steps=10)
    assert (c.variant, c.steps, c.eta_a) == ("attr", 10, 0.25 / 255)
    with pytest.raises(UsageError, match="unknown attack preset 'fast'; use one of ci, paper"):
        AttackConfig.preset("fast")


def test_partial_steps_only_matter_for_partial_variants() -> None:
    AttackConfig(steps=10)  # partial_steps=20 > steps is fine for full
    AttackConfig(variant="pgd", random_start=True)


def test_registry() -> None:
    assert set(VARIANTS) == {
        "full",
        "attr",
        "image",
        "attr+partial-image",
        "image+partial-attr",
        "spt",
        "fgsm",
        "pgd",
    }
    assert get_variant("attr+partial-image").paper_label == "A + PI"
    with pytest.raises(UsageError, match="use one of full"):
        get_variant("nope")
