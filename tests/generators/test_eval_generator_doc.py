"""docs/generator.md's "How it was made" follows the shipped checkpoint: one stage or two."""

from __future__ import annotations

import pytest

from scripts import eval_generator as ev
from sia_audit.generators.checkpoint import load_checkpoint


@pytest.fixture(scope="module")
def shipped():  # noqa: ANN201 - fixture
    return load_checkpoint(ev.SHIPPED)


def test_a_fine_tuned_checkpoint_is_described_as_two_stages(shipped) -> None:  # noqa: ANN001
    keep = dict(shipped.provenance)
    try:
        shipped.provenance = {**keep, "init_from": "stage_c_1500.pt", "init_sha256": "ab" * 32,
                              "lambda_adv": 0.01, "lambda_edge": 1.0, "seed": 2}  # fmt: skip
        text = ev._made(shipped, ev.SHIPPED)
        assert text.startswith("Two stages")
        assert "scripts/finetune_default_generator.sh" in text
        assert "`stage_c_1500.pt`, abababababab" in text and "lambda_adv 0.01" in text
        shipped.provenance = {k: v for k, v in keep.items() if not k.startswith("init_")}
        text = ev._made(shipped, ev.SHIPPED)
        assert text.startswith("One stage") and "finetune_default_generator" not in text
        assert "scripts/train_default_generator.py" in text  # stage 0 is always told
    finally:
        shipped.provenance = keep
