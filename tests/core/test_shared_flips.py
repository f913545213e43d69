"""The counterfactual flips read from the editability check's decodes equal the attack loop's."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import torch

from sia_audit.app.inputs import load
from sia_audit.audit import audit, audit_batches
from sia_audit.policy import load_policy

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "examples" / "models" / "eyeglasses_biased.pt"
POLICY = """version: 1
probes: {source: builtin:synthfaces, count: 12, seed: 0, size: 64}
generator: builtin:synthfaces
attack: {variant: full, steps: 2, batch_size: 5}
bootstrap: {resamples: 50, seed: 0, level: 0.95}
"""


def test_flips_from_the_editability_check_equal_the_loops(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(POLICY)
    loaded = load(str(MODEL), load_policy(path), path, device="cpu")
    assert loaded.classifier is not None and loaded.config.flips
    shared = audit(loaded.probes, loaded.generator, loaded.target, loaded.config,
                   classifier=loaded.classifier)  # fmt: skip
    # The loop's own flips, batch by batch (5, 5, 2 probes: the last batch is short).
    numbers = audit_batches(loaded.probes, loaded.generator, loaded.target, loaded.config)
    main = loaded.config.attack.variant
    loss = torch.cat([b.attacks[main]["flip_loss"] for b in numbers])
    changed = torch.cat([b.attacks[main]["flip_changed"] for b in numbers]).bool()
    p = shared.attacks[main].probes
    assert p.flip_loss is not None and p.flip_changed is not None
    torch.testing.assert_close(p.flip_loss, loss, rtol=1e-4, atol=1e-5)
    assert torch.equal(p.flip_changed.bool(), changed)
    assert loss.abs().sum() > 0
    # Without a classifier nothing is decoded beforehand: the loop computes them as before.
    alone = audit(loaded.probes, loaded.generator, loaded.target, loaded.config)
    assert alone.editability is None
    torch.testing.assert_close(alone.attacks[main].probes.flip_loss, loss)
    # Asked for no flips, none are recorded by either path.
    off = dataclasses.replace(loaded.config, flips=False)
    none = audit(loaded.probes, loaded.generator, loaded.target, off, classifier=loaded.classifier)
    assert none.attacks[main].probes.flip_loss is None
