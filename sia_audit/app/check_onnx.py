"""`check-onnx` without the CLI: the ONNX check alone, on the policy's probes, with its gates."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sia_audit.app.inputs import bootstrap_config, build_probes, generator_path
from sia_audit.fsutil import sha256_of
from sia_audit.gates.thresholds import GateVerdict, onnx_verdicts, passed
from sia_audit.generators.checkpoint import load_generator
from sia_audit.onnx.check import check_onnx
from sia_audit.onnx.results import OnnxResult
from sia_audit.onnx.runtime import load_onnx_target
from sia_audit.policy.models import Policy
from sia_audit.targets.loading import load_target


@dataclass(frozen=True)
class OnnxOutcome:
    """An ONNX check and the verdicts of the policy's ONNX gates on it."""

    result: OnnxResult
    verdicts: tuple[GateVerdict, ...]
    passed: bool


def check_only(
    onnx: Path,
    policy: Policy,
    *,
    torch_source: str | None = None,
    device: str = "auto",
    batch_size: int | None = None,
    allow_code: bool = False,
) -> OnnxOutcome:
    """Clean accuracy of `onnx` on the policy's probes and, with a torch target, parity."""
    contract = policy.target.contract_overrides() if policy.target else None
    torch_target = (
        load_target(torch_source, policy_contract=contract, allow_code=allow_code)
        if torch_source
        else None
    )
    onnx_target = load_onnx_target(
        onnx,
        device=device,
        fallback_contract=None if torch_target is None else torch_target.contract,
        policy_contract=contract,
    )
    # The generator names the attributes a CelebA folder is read with; synthfaces ignore it.
    probes = build_probes(policy, load_generator(generator_path(policy.generator.source)))
    result = check_onnx(
        onnx_target,
        probes,
        torch_target=torch_target,
        torch_source=torch_source or "",
        bootstrap=bootstrap_config(policy),
        batch_size=batch_size or policy.attack.batch_size,
        sha256=sha256_of(onnx),
    )
    verdicts = onnx_verdicts(policy.gates, result)
    return OnnxOutcome(result, verdicts, passed(verdicts))
