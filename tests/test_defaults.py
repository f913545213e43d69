"""One default per setting: the Python API and an empty policy file run the same audit."""

from __future__ import annotations

import inspect
from pathlib import Path

from sia_audit.app.inputs import audit_config, bootstrap_config
from sia_audit.attacks import AttackConfig
from sia_audit.audit import AuditConfig
from sia_audit.generators.editability import measure_editability
from sia_audit.metrics import BootstrapConfig
from sia_audit.metrics.editability import editability
from sia_audit.onnx.check import check_onnx
from sia_audit.policy import load_policy


def _default(function: object, name: str) -> object:
    return inspect.signature(function).parameters[name].default  # type: ignore[arg-type]


def test_the_python_api_defaults_are_an_empty_policys(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text("version: 1\n", encoding="utf-8")
    policy = load_policy(path)
    assert policy.attack.preset == "ci"
    assert policy.attack.to_config() == AttackConfig() == AttackConfig.preset("ci")
    assert audit_config(policy, "auto", None) == AuditConfig()
    assert bootstrap_config(policy) == BootstrapConfig()
    assert policy.subpopulations == AuditConfig().subpopulations
    for function in (measure_editability, editability):
        assert _default(function, "min_expression") == policy.editability.min_expression
    for function in (measure_editability, check_onnx):
        assert _default(function, "batch_size") == policy.attack.batch_size
