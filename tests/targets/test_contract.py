"""TargetContract validation and the differentiable resize-and-normalise adapter."""

from __future__ import annotations

import warnings

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from sia_audit.errors import UsageError
from sia_audit.targets import Target, TargetContract
from sia_audit.targets.tasks import BinaryTask


class Identity(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(()))
        self.bn = nn.BatchNorm2d(3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale


CONTRACT = TargetContract("binary", (8, 6), (0.5, 0.25, 0.0), (0.5, 2.0, 1.0), label="Male")


def test_contract_round_trips_and_rejects_bad_fields() -> None:
    data = CONTRACT.as_dict()
    assert data["input_size"] == [8, 6]
    assert TargetContract.from_mapping(data) == CONTRACT
    with pytest.raises(UsageError, match="unknown target contract keys sigma"):
        TargetContract.from_mapping({**data, "sigma": 2})
    with pytest.raises(UsageError, match="lacks input_size"):
        TargetContract.from_mapping({"task": "binary"})
    for field, value in [
        ("input_size", (8,)),
        ("input_size", (0, 8)),
        ("std", (1.0, 0.0, 1.0)),
        ("mean", (0.0, 0.0)),
        ("num_classes", 1),
        ("num_keypoints", 0),
        ("heatmap_sigma", 0.0),
        ("nme_failure", float("inf")),
        ("label", ""),
    ]:
        with pytest.raises(UsageError, match=field):
            TargetContract(**{**data, field: value})  # type: ignore[arg-type]


def test_adapter_resizes_and_normalises() -> None:
    target = Target(Identity(), CONTRACT)
    x = torch.rand(2, 3, 16, 16)
    want = F.interpolate(x, size=(8, 6), mode="bilinear", align_corners=False)
    want = (want - torch.tensor([0.5, 0.25, 0.0]).view(1, 3, 1, 1)) / torch.tensor(
        [0.5, 2.0, 1.0]
    ).view(1, 3, 1, 1)
    torch.testing.assert_close(target(x), want)
    same = torch.rand(2, 3, 8, 6)
    assert torch.equal(target.adapt(same), (same - target.mean) / target.std)
    assert isinstance(target.task, BinaryTask)


def test_target_stays_in_eval_mode_without_parameter_gradients() -> None:
    model = Identity().train()
    target = Target(model, CONTRACT)
    assert not target.training and not model.training
    target.train()
    assert not target.training and not model.bn.training
    assert not any(p.requires_grad for p in target.parameters())
    x = torch.rand(1, 3, 16, 16, requires_grad=True)
    (grad,) = torch.autograd.grad(target(x).sum(), x)
    assert grad.abs().sum() > 0 and model.scale.grad is None


def test_scripted_and_exported_models_give_input_gradients() -> None:
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4), nn.Flatten(), nn.Linear(96, 1))
    net.eval()
    x = torch.rand(2, 3, 16, 16, requires_grad=True)
    plain = Target(net, CONTRACT)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        scripted = torch.jit.script(net)
        exported = torch.export.export(net, (torch.rand(2, 3, 8, 6),)).module()
    for model in (scripted, exported):
        target = Target(model, CONTRACT)  # export modules refuse eval(): not an error
        assert not any(p.requires_grad for p in target.parameters())
        torch.testing.assert_close(target(x), plain(x))
        (grad,) = torch.autograd.grad(target(x).sum(), x)
        (want,) = torch.autograd.grad(plain(x).sum(), x)
        torch.testing.assert_close(grad, want)
