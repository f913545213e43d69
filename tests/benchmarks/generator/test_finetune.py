"""The fine-tune pilot's levers: focus weights, their overrides, the start checkpoint."""

from __future__ import annotations

import argparse
from pathlib import Path

import pytest

from benchmarks.generator import finetune as ft
from sia_audit.probes.synthfaces.attributes import ATTRIBUTES


def test_focus_weights_follow_the_attribute_order_and_take_overrides() -> None:
    assert set(ft.FOCUS) <= set(ATTRIBUTES)
    weights = ft.focus_weights({"Young": 3.0})
    assert len(weights) == len(ATTRIBUTES)
    assert weights[ATTRIBUTES.index("Young")] == 3.0
    assert weights[ATTRIBUTES.index("Male")] == ft.FOCUS["Male"]
    assert weights[ATTRIBUTES.index("Pale_Skin")] == 1.0  # meets the goal: not focused
    with pytest.raises(SystemExit, match="Yuong"):
        ft.focus_weights({"Yuong": 3.0})


def test_weight_arguments_parse_or_say_what_they_expect() -> None:
    assert ft.parse_weight("Brown_Hair=2.5") == ("Brown_Hair", 2.5)
    with pytest.raises(argparse.ArgumentTypeError, match="NAME=WEIGHT"):
        ft.parse_weight("Brown_Hair")


def test_the_config_carries_the_levers_and_the_start(tmp_path: Path) -> None:
    plain = ft.config(100, 4.0, 5e-4)
    assert plain.edit_weights == () and plain.lambda_edge == 0
    start = tmp_path / "g.pt"
    cfg = ft.config(100, 4.0, 5e-4, True, 1.0, {"Young": 3.0}, start, lambda_rec=2.0)
    assert cfg.edit_weights == ft.focus_weights({"Young": 3.0})
    assert cfg.lambda_edge == 1.0 and cfg.init_from == str(start) and cfg.lambda_rec == 2.0
    assert cfg.lambda_adv == 0 and ft.config(100, 4.0, 5e-4, lambda_adv=0.01).lambda_adv == 0.01


def test_a_long_start_name_is_shortened_to_fit_a_file_name() -> None:
    short = Path("finetuned_r4_lr0.0005_focus_e1_4000.pt")
    assert ft.start_tag(short) == short.stem
    long_a, long_b = Path("x" * 200 + "a.pt"), Path("x" * 200 + "b.pt")
    assert len(ft.start_tag(long_a)) == 51 and ft.start_tag(long_a).startswith("x" * 40)
    assert ft.start_tag(long_a) != ft.start_tag(long_b)
