"""Table 6's benchmark: what each strategy feeds the training loop, and one tiny end-to-end run
(imbalanced folder -> `none` model -> SIA adversaries of the positives via generate -> SIA arm)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

import benchmarks.paper.imbalanced as table6


def _data(n: int = 200, positives: int = 4) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(0)
    x = torch.randint(0, 256, (n, 3, 8, 8), generator=g, dtype=torch.uint8)
    y = torch.zeros(n, dtype=torch.bool)
    y[:positives] = True
    return x, y


def _positive_share(strategy: str, steps: int = 40) -> float:
    x, y = _data()
    next_batch = table6.batches(strategy, x, y, seed=0)
    return float(torch.cat([next_batch(s).y for s in range(steps)]).mean())


def test_resampling_evens_the_classes_and_uniform_batches_keep_the_imbalance() -> None:
    assert 0.4 < _positive_share("resample") < 0.6
    assert _positive_share("none") < 0.06


def test_reweighting_gives_each_class_half_of_the_loss() -> None:
    x, y = _data()
    w = table6.balanced_weights(y)
    assert float(w[y].sum()) == pytest.approx(float(w[~y].sum()))
    assert float(w.sum()) == pytest.approx(len(y))
    batch = table6.batches("sia+reweight", x, y, seed=0)(1)
    assert batch.weight is not None and set(batch.weight.tolist()) <= set(w.tolist())
    assert table6.batches("none", x, y, seed=0)(1).weight is None


def test_cutmix_mixes_labels_on_about_half_the_batches() -> None:
    x, y = _data(positives=100)
    next_batch = table6.batches("cutmix", x, y, seed=0)
    soft = [bool(((b.y > 0) & (b.y < 1)).any()) for b in (next_batch(s) for s in range(40))]
    assert 10 < sum(soft) < 30


def test_autoaugment_changes_images_but_not_labels() -> None:
    x, y = _data()
    torch.manual_seed(0)
    plain = table6.batches("none", x, y, seed=0)(1)
    torch.manual_seed(0)
    augmented = table6.batches("autoaugment", x, y, seed=0)(1)
    assert torch.equal(plain.y, augmented.y)
    assert not torch.equal(plain.x, augmented.x)


def test_a_tiny_run_trains_every_arm_it_is_asked_for_and_tabulates_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in {
        "CACHE": tmp_path / "cache",
        "LOG": tmp_path / "log.txt",
        "PLOT": tmp_path / "plot.png",
        "SHEET": tmp_path / "sheet.png",
        "N_TRAIN": 40,
        "POSITIVES": 3,
        "N_TEST": 6,
        "STEPS": 4,
        "PER_IMAGE": 2,
        "SEEDS": (0,),
    }.items():
        monkeypatch.setattr(table6, name, value)
    arms = ("none", "sia", "recon", "sia-frozen")
    argv = ["imbalanced.py", "--label", "Bangs"]
    monkeypatch.setattr(sys, "argv", argv + [a for s in arms for a in ("--strategy", s)])
    table6.main()
    results = {
        r["strategy"]: r
        for r in (json.loads(p.read_text()) for p in (tmp_path / "cache" / "results").iterdir())
    }
    assert set(results) == set(arms)
    assert results["none"]["images"] == 40 and results["none"]["positives"] == 3
    for arm in ("sia", "recon", "sia-frozen"):  # two extra images per positive, labelled 1
        assert results[arm]["images"] == 46 and results[arm]["positives"] == 9
    provenance = json.loads(
        (tmp_path / "cache" / "Bangs" / "sia_seed0" / "sia_adversaries.json").read_text()
    )
    assert provenance["command"]["where"] == ["Bangs=1"]
    assert provenance["frozen"] == ["Bangs"]  # the target's own label only
    frozen = (
        tmp_path / "cache" / "Bangs" / "sia-frozen_seed0" / "sia_adversaries.json"
    ).read_text()
    assert sorted(json.loads(frozen)["frozen"]) == ["Bald", "Bangs"]  # and what hides it
    log = (tmp_path / "log.txt").read_text()
    assert "Bangs sia seed 0: attributes moved most: " in log
    assert "Bangs sia-frozen seed 0: attributes moved most: " in log
    assert "Bald" not in log.split("sia-frozen seed 0: attributes moved most: ")[1].split("\n")[0]
    table = capsys.readouterr().out
    assert "| Bangs | sia | 1 |" in table and "| Bangs | recon | 1 |" in table
    assert (tmp_path / "plot.png").exists()
    with Image.open(tmp_path / "sheet.png") as sheet:  # 3 positives: source + 2 adversaries
        assert sheet.size == (3 * 128, 3 * 128)
