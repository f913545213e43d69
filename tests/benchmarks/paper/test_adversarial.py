"""Tables 4-5's benchmark at a tiny size: base model, adversaries, one-epoch fine-tuning, audits."""

from __future__ import annotations

import sys
import warnings
from pathlib import Path

import pytest
import torch

import benchmarks.paper.adversarial as t45


def _weights(path: Path) -> list[torch.Tensor]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return list(torch.jit.load(str(path)).state_dict().values())


def test_a_tiny_run_fine_tunes_on_adversaries_and_tabulates_every_audit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, value in {
        "CACHE": tmp_path / "cache",
        "LOG": tmp_path / "log.txt",
        "PLOT": tmp_path / "plot.png",
        "SEEDS": (1,),
        "BASE_STEPS": 3,
        "FT_PROBES": 8,
        "FT_BATCH": 4,
        "EVAL_PROBES": 4,
        "TRAININGS": ("none", "fgsm", "full"),
        "EVALS": {"1.5/255": ("full", "fgsm")},
    }.items():
        monkeypatch.setattr(t45, name, value)
    monkeypatch.setattr(sys, "argv", ["adversarial.py"])
    t45.main()
    cache = tmp_path / "cache"
    data = torch.load(cache / "adversaries_seed1_eps4.pt")
    assert data["x0"].shape == data["fgsm"].shape == data["full"].shape == (8, 3, 64, 64)
    # FGSM moves every pixel by eps_x at most; SIA's adversary is a generator image
    assert float((data["fgsm"] - data["x0"]).abs().max()) <= 4 / 255 + 1e-6
    assert float((data["full"] - data["x0"]).abs().max()) > 4 / 255
    base = _weights(cache / "none_seed1.pt")
    for attack in ("fgsm", "full"):
        tuned = _weights(cache / f"{attack}_seed1.pt")
        assert not all(torch.equal(a, b) for a, b in zip(base, tuned, strict=True))
    audits = t45.cached_audits()
    assert {a["training"] for a in audits} == {"none", "fgsm", "full"}
    assert all(set(a["robust"]) == {"full", "fgsm"} and a["sdar_s"] >= 0 for a in audits)
    assert not (tmp_path / "plot.png").exists()  # no audit at 4/255: nothing to plot
    out = capsys.readouterr().out
    assert "| fgsm 1.5/255 | " in out and "(n=1)" in out and "SIA at 1.5/255" in out
