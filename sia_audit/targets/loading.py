"""Load the model under audit: TorchScript, torch.export programs, or a Python factory.

The contract (task, input size, normalisation...) comes from the `sia_target.json` extra file
inside the archive, or from the policy (which wins when both exist). Every load ends with a
check that the target fits its contract: input gradients flow, the output has the task's shape,
and it is finite. Each failure is one line naming the model and the fix.
"""

from __future__ import annotations

import importlib
import json
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from sia_audit.errors import ModelError, SiaAuditError, UsageError
from sia_audit.targets.contract import Target, TargetContract

CONTRACT_FILE = "sia_target.json"
TORCHSCRIPT_SUFFIXES = (".pt", ".ts", ".pth")
EXPORT_SUFFIXES = (".pt2",)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else type(exc).__name__


def _load_torchscript(path: Path) -> tuple[nn.Module, str]:
    extra = {CONTRACT_FILE: ""}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.jit's deprecation notice concerns authors
            module = torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
    except Exception as exc:  # torch raises RuntimeError/ValueError variants here
        raise ModelError(
            f"target {path}: not a TorchScript archive ({_one_line(exc)}); save it with "
            "torch.jit.save, or give a torch.export .pt2 file"
        ) from exc
    contract = extra[CONTRACT_FILE]
    return module, contract.decode() if isinstance(contract, bytes) else contract


def _load_export(path: Path) -> tuple[nn.Module, str]:
    extra = {CONTRACT_FILE: ""}
    try:
        program = torch.export.load(str(path), extra_files=extra)
    except Exception as exc:
        raise ModelError(
            f"target {path}: not a torch.export program ({_one_line(exc)}); "
            "save it with torch.export.save"
        ) from exc
    module = program.module()
    for p in module.parameters():  # exported parameters come back trainable
        p.requires_grad_(False)
    contract = extra[CONTRACT_FILE]
    return module, contract.decode() if isinstance(contract, bytes) else contract


def _load_factory(spec: str, state_dict: Path | None) -> nn.Module:
    module_name, _, fn_name = spec.partition(":")
    try:
        factory = getattr(importlib.import_module(module_name), fn_name)
    except (ImportError, AttributeError) as exc:
        raise ModelError(
            f"target factory {spec}: {_one_line(exc)}; check the module:function"
        ) from exc
    model = factory()
    if not isinstance(model, nn.Module):
        raise ModelError(
            f"target factory {spec} returned {type(model).__name__}, not a torch module"
        )
    if state_dict is not None:
        try:
            weights = torch.load(state_dict, map_location="cpu", weights_only=True)
            model.load_state_dict(weights)
        except Exception as exc:
            raise ModelError(
                f"state dict {state_dict}: {_one_line(exc)}; give a weights-only state_dict file"
            ) from exc
    return model


def load_model(source: str, *, allow_code: bool = False, state_dict: Path | None = None):  # noqa: ANN201
    """(module, embedded contract JSON text or '') for a target source."""
    path = Path(source)
    if path.suffix == ".onnx":
        raise ModelError(
            f"target {source}: ONNX Runtime gives no input gradients, so SIA cannot attack it; "
            "give the TorchScript or torch.export model, and the ONNX file to --onnx or check-onnx"
        )
    if path.is_dir():
        raise ModelError(f"target {source} is a folder; give the model file (.pt or .pt2)")
    if path.suffix in TORCHSCRIPT_SUFFIXES + EXPORT_SUFFIXES:
        if not path.is_file():
            raise ModelError(f"target {source}: file not found; check the path")
        if path.suffix in EXPORT_SUFFIXES:
            return _load_export(path)
        return _load_torchscript(path)
    if ":" in source and not path.exists():
        if not allow_code:
            raise UsageError(
                f"target {source} is Python code; pass --allow-code to run it (it executes "
                "that module), or give a TorchScript/torch.export file"
            )
        return _load_factory(source, state_dict), ""
    raise ModelError(
        f"target {source}: unsupported; give a .pt/.ts TorchScript archive, a .pt2 "
        "torch.export program, or module:function with --allow-code"
    )


def resolve_contract(
    source: str, embedded: str, policy: Mapping[str, Any] | None
) -> TargetContract:
    """The policy's `target:` section wins over the archive's `sia_target.json`, key by key."""
    data: dict[str, Any] = {}
    if embedded:
        try:
            data = json.loads(embedded)
        except json.JSONDecodeError as exc:
            raise ModelError(f"target {source}: {CONTRACT_FILE} is not valid JSON ({exc})") from exc
        if not isinstance(data, dict):
            raise ModelError(f"target {source}: {CONTRACT_FILE} must hold a JSON object")
    if policy:
        data = {**data, **policy}
    if not data:
        raise UsageError(
            f"target {source} has no contract: embed {CONTRACT_FILE} in the archive or give "
            "the policy a target: section (task, input_size, mean, std, label)"
        )
    try:
        return TargetContract.from_mapping(data)
    except SiaAuditError as exc:
        raise type(exc)(f"target {source}: {exc}") from exc


def check_target(
    target: Target,
    source: str,
    *,
    what: str = "target",
    gradient: bool = True,
    fix: str = "check input_size in its contract",
) -> None:
    """Run a model once on a small batch: finite output of the task's shape, and (with
    `gradient`) a usable input gradient. `what` names it in messages ("target", "onnx model");
    `fix` says what to do when the model cannot take the batch at all."""
    c = target.contract
    h, w = c.input_size
    x = torch.rand(2, 3, h, w, generator=torch.Generator().manual_seed(0))
    x.requires_grad_(gradient)
    label = target.task.dummy_labels()
    try:
        out = target(x)
    except Exception as exc:
        raise ModelError(
            f"{what} {source} fails on a (2, 3, {h}, {w}) input ({_one_line(exc)}); {fix}"
        ) from exc
    try:
        target.task.validate(out, label)
    except SiaAuditError as exc:
        raise ModelError(f"{what} {source}: {exc}") from exc
    if not gradient:
        return
    loss = target.task.loss(out, label).sum()
    if not loss.requires_grad:
        raise ModelError(
            f"{what} {source}: its output does not depend differentiably on the input "
            "(no input gradient); SIA needs a differentiable model"
        )
    (grad,) = torch.autograd.grad(loss, x, allow_unused=True)
    if grad is None or not bool(torch.isfinite(grad).all()) or float(grad.abs().sum()) == 0.0:
        raise ModelError(
            f"{what} {source}: no usable input gradient (none, zero or non-finite); "
            "SIA needs a differentiable model"
        )


def load_target(
    source: str,
    *,
    policy_contract: Mapping[str, Any] | None = None,
    allow_code: bool = False,
    state_dict: Path | None = None,
) -> Target:
    """Load, wrap with its contract and check a target; see the module docstring."""
    model, embedded = load_model(source, allow_code=allow_code, state_dict=state_dict)
    contract = resolve_contract(source, embedded, policy_contract)
    target = Target(model, contract)
    check_target(target, source)
    return target
