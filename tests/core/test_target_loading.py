"""Loading targets: TorchScript and torch.export with embedded contracts, factories, bad models."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
import torch
from torch import nn

from sia_audit.errors import ModelError, UsageError
from sia_audit.targets.loading import load_target

CONTRACT = {"task": "binary", "label": "Eyeglasses", "input_size": [16, 16]}


class Net(nn.Module):
    def __init__(self, outputs: int = 1) -> None:
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3, 2, 1)
        self.fc = nn.Linear(4, outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.conv(x).mean(dim=(2, 3))).squeeze(1)


class NaNNet(Net):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x) * float("nan")


class Detached(Net):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.detach())


def factory() -> nn.Module:
    torch.manual_seed(0)
    return Net()


def script(model: nn.Module, path: Path, contract: dict | None = CONTRACT) -> Path:
    extra = {"sia_target.json": json.dumps(contract)} if contract is not None else {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.save(
            torch.jit.trace(model.eval(), torch.zeros(1, 3, 16, 16)), str(path), _extra_files=extra
        )
    return path


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


def test_torchscript_with_embedded_contract(tmp_path: Path) -> None:
    target = load_target(str(script(Net(), tmp_path / "m.pt")))
    assert target.contract.label == "Eyeglasses" and target.contract.input_size == (16, 16)
    x = torch.rand(3, 3, 32, 32, requires_grad=True)  # the adapter resizes
    target(x).sum().backward()
    assert x.grad is not None and float(x.grad.abs().sum()) > 0


def test_policy_contract_wins(tmp_path: Path) -> None:
    path = script(Net(), tmp_path / "m.pt")
    target = load_target(str(path), policy_contract={"label": "Smiling"})
    assert target.contract.label == "Smiling"


def test_torch_export_program(tmp_path: Path) -> None:
    program = torch.export.export(Net().eval(), (torch.zeros(2, 3, 16, 16),))
    path = tmp_path / "m.pt2"
    torch.export.save(program, str(path), extra_files={"sia_target.json": json.dumps(CONTRACT)})
    target = load_target(str(path))
    assert all(not p.requires_grad for p in target.parameters())
    assert target(torch.rand(2, 3, 16, 16)).shape == (2,)


def test_factory_needs_allow_code() -> None:
    spec = "tests.core.test_target_loading:factory"
    with pytest.raises(UsageError, match="--allow-code"):
        load_target(spec, policy_contract=CONTRACT)
    assert load_target(spec, policy_contract=CONTRACT, allow_code=True).contract.task == "binary"


def test_factory_with_weights_only_state_dict(tmp_path: Path) -> None:
    spec = "tests.core.test_target_loading:factory"
    good = tmp_path / "w.pt"
    torch.save(Net().state_dict(), good)
    load_target(spec, policy_contract=CONTRACT, allow_code=True, state_dict=good)
    evil = tmp_path / "evil.pt"
    torch.save({"obj": Net()}, evil)  # a pickled module is not weights-only
    with pytest.raises(ModelError, match="weights-only"):
        load_target(spec, policy_contract=CONTRACT, allow_code=True, state_dict=evil)


@pytest.mark.parametrize(
    ("make", "words"),
    [
        (lambda p: write(p.with_suffix(".onnx"), b"\x08\x07"), "ONNX"),
        (lambda p: p, "file not found"),
        (lambda p: write(p, b"not a zip"), "not a TorchScript archive"),
        (lambda p: script(Net(), p, contract=None), "no contract"),
        (lambda p: script(Net(), p, contract={"task": "binary"}), "input_size"),
        (lambda p: script(Net(), p, contract={**CONTRACT, "colour": 1}), "unknown target contract"),
        (lambda p: script(Net(outputs=3), p), "target"),
        (lambda p: script(NaNNet(), p), "non-finite"),
        (lambda p: script(Detached(), p), "gradient"),
    ],
)
def test_bad_targets_are_one_line_errors(tmp_path: Path, make, words: str) -> None:
    path = make(tmp_path / "m.pt")
    with pytest.raises((ModelError, UsageError), match=words) as info:
        load_target(str(path))
    assert "\n" not in str(info.value)
