"""docs/generator.md's "How it was made" follows the shipped checkpoint: one stage or two; the
stage stamp that tells them apart keeps the weights."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
import torch

from scripts import eval_generator as ev
from scripts import stamp_generator_stage as stamp
from sia_audit.generators.checkpoint import load_checkpoint, save_checkpoint


@pytest.fixture(scope="module")
def shipped():  # noqa: ANN201 - fixture
    return load_checkpoint(ev.SHIPPED)


def test_the_shipped_checkpoint_is_stage_1_of_two(shipped) -> None:  # noqa: ANN001
    p = shipped.provenance
    assert p["stage"] == 1 and p["script"] == "scripts/finetune_default_generator.sh"
    assert len(p["stage0_sha256"]) == 64 and p["last_finetune_lambda_adv"] == 0.01
    text = ev._made(shipped, ev.SHIPPED)
    assert text.startswith("Two stages")
    assert "scripts/finetune_default_generator.sh" in text
    assert "scripts/stamp_generator_stage.py" in text
    assert p["stage0_sha256"][:12] in text
    assert "lambda_adv 0.01" in text and "lambda_edge 1.0" in text


def test_a_from_scratch_checkpoint_is_described_as_one_stage(shipped) -> None:  # noqa: ANN001
    keep = dict(shipped.provenance)
    try:
        shipped.provenance = {k: v for k, v in keep.items() if k != "stage"}
        text = ev._made(shipped, ev.SHIPPED)
        assert text.startswith("One stage") and "finetune_default_generator" not in text
        assert "scripts/train_default_generator.py" in text  # stage 0 is always told
    finally:
        shipped.provenance = keep


def test_stamping_names_the_stage_keeps_the_weights_and_runs_once(
    shipped, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:  # noqa: ANN001
    path = tmp_path / "d.pt"
    last = {"trainer": "t", "mode": "paired", "data": "builtin:synthfaces", "seed": 2,
            "steps": 1500, "init_from": "c.pt", "script": "generator_finetune.py"}  # fmt: skip
    save_checkpoint(path, shipped, last)
    argv = ["stamp", str(path), "--stage0-sha256", "ab" * 32]
    monkeypatch.setattr(sys, "argv", argv)
    stamp.main()
    stamped = load_checkpoint(path)
    p = stamped.provenance
    assert p["stage"] == 1 and p["stage0_sha256"] == "ab" * 32 and p["steps"] == 10000
    assert p["last_finetune_steps"] == 1500 and p["last_finetune_init_from"] == "c.pt"
    assert p["script"] == "scripts/finetune_default_generator.sh" and "init_from" not in p
    before, after = shipped.state_dict(), stamped.state_dict()
    assert before.keys() == after.keys()
    assert all(torch.equal(before[k], after[k]) for k in before)
    with pytest.raises(SystemExit, match="stamped already"):
        stamp.main()
