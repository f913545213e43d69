"""sia_audit.save_target: a model saved with its contract loads as `sia-audit run` loads it;
a contract that does not fit is one line and leaves the path as it was."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import torch
from torch import nn

from sia_audit import save_target
from sia_audit.errors import ModelError, UsageError
from sia_audit.targets.loading import load_target

ROOT = Path(__file__).resolve().parents[2]


class Tiny(nn.Module):
    def __init__(self, outputs: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, 2, 1)
        self.bn = nn.BatchNorm2d(4)
        self.fc = nn.Linear(4, outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.bn(self.conv(x)).relu().mean(dim=(2, 3)))


CONTRACT = {"task": "binary", "label": "Eyeglasses", "input_size": (32, 32),
            "mean": (0.5, 0.5, 0.5), "std": (0.25, 0.25, 0.25)}  # fmt: skip


@pytest.mark.parametrize("name", ["model.pt2", "model.pt"])
def test_a_saved_model_loads_with_its_contract(tmp_path: Path, name: str) -> None:
    model = Tiny()
    model.train()  # save_target puts it in eval mode: batch norm uses its running statistics
    path = tmp_path / "sub" / name
    target = save_target(model, path, **CONTRACT, provenance={"trained_on": "faces"})
    again = load_target(str(path))
    assert again.contract == target.contract
    assert again.contract.input_size == (32, 32) and again.contract.label == "Eyeglasses"
    x = torch.rand(3, 3, 64, 64)  # any size: the adapter resizes and normalises
    with torch.no_grad():
        expected = model.eval()(again.adapt(x))
        assert torch.allclose(again(x), expected, atol=1e-5)
    names = zipfile.ZipFile(path).namelist()
    assert any(n.endswith("sia_provenance.json") for n in names)
    assert [p.name for p in path.parent.iterdir()] == [name]  # no temporary file left
    assert path.stat().st_mode & 0o644 == 0o644


def test_a_contract_that_does_not_fit_leaves_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "model.pt2"
    path.write_bytes(b"the model saved yesterday")
    with pytest.raises(ModelError, match=r"model.pt2: binary target must output \(B,\) or"):
        save_target(Tiny(outputs=3), path, **CONTRACT)
    assert path.read_bytes() == b"the model saved yesterday"
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt2"]


@pytest.mark.parametrize(
    ("change", "words"),
    [
        ({"task": "regression"}, "task='regression' is invalid"),
        ({"input_size": (0, 32)}, "input_size=(0, 32) is invalid"),
        ({"std": (1.0, 0.0, 1.0)}, "std=(1.0, 0.0, 1.0) is invalid"),
        ({"input_size": (32, 100_000)}, "has a side above 4096 pixels"),
    ],
)
def test_a_bad_contract_is_refused_before_anything_is_written(
    tmp_path: Path, change: dict, words: str
) -> None:
    with pytest.raises(UsageError, match=re.escape(words)):
        save_target(Tiny(), tmp_path / "model.pt2", **{**CONTRACT, **change})
    assert list(tmp_path.iterdir()) == []


def test_other_file_kinds_are_refused(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="writes .pt2 .* or .pt .*, not 'model.onnx'"):
        save_target(Tiny(), tmp_path / "model.onnx", **CONTRACT)


def test_multiclass_contract_is_embedded(tmp_path: Path) -> None:
    save_target(Tiny(outputs=3), tmp_path / "m.pt2", task="multiclass", input_size=(32, 32),
                classes=("Black_Hair", "Blond_Hair", "none"))  # fmt: skip
    with zipfile.ZipFile(tmp_path / "m.pt2") as z:
        member = next(n for n in z.namelist() if n.endswith("sia_target.json"))
        contract = json.loads(z.read(member))
    assert contract["classes"] == ["Black_Hair", "Blond_Hair", "none"]


def test_importing_the_package_does_not_import_torch() -> None:
    probe = (
        "import sys, sia_audit\n"
        "assert 'torch' not in sys.modules\n"
        "from sia_audit import save_target\n"
        "assert callable(save_target) and 'torch' in sys.modules\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
