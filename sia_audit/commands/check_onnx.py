"""`sia-audit check-onnx`: clean accuracy and torch parity of an ONNX export; exit 0 / 1 / 2."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from sia_audit.commands.options import set_threads, threads_option
from sia_audit.commands.run import finish
from sia_audit.errors import ConfigError, UsageError
from sia_audit.policy import load_policy
from sia_audit.policy.gates import GatesSection

if TYPE_CHECKING:  # torch: imported when a check runs, not for --help
    from sia_audit.onnx.results import OnnxResult


def describe(r: OnnxResult) -> list[str]:
    """The figures of an ONNX check, one per line, as the log of a CI job shows them."""
    acc = r.clean_accuracy
    lines = [
        f"onnx model:          {r.model} (ONNX Runtime {r.onnxruntime_version}, {r.provider})",
        f"clean accuracy:      {acc.value:.4f} [{acc.low:.4f}, {acc.high:.4f}] on {acc.n} probes",
    ]
    if r.parity is not None:
        p = r.parity
        lines += [
            f"max abs difference:  {p.max_abs_diff:.3g} (largest raw output difference vs torch)",
            f"agreement:           {p.agreement.value:.4f} of {p.agreement.n} probes "
            f"predict as {p.torch_target} does",
        ]
    return lines


def check_something(gates: GatesSection, policy_path: Path, torch_source: str | None) -> None:
    """Refuse, before loading anything, a check whose every gate would be skipped: it would
    pass having checked nothing (compare refuses a policy without regression gates alike)."""
    if gates.onnx_clean_accuracy is None and gates.onnx_parity is None:
        raise ConfigError(
            f"{policy_path} has no ONNX gate, so check-onnx would check nothing; add "
            "gates.onnx_clean_accuracy {min: ...} or gates.onnx_parity {max_abs_diff: ..., "
            "min_agreement: ...}"
        )
    if gates.onnx_clean_accuracy is None and torch_source is None:
        raise UsageError(
            f"the only ONNX gate of {policy_path} is onnx_parity, which compares with the torch "
            "model: give it with --target (or add gates.onnx_clean_accuracy)"
        )


@click.command("check-onnx")
@click.argument("model", type=click.Path(path_type=Path))
@click.option("--policy", "policy_path", type=click.Path(path_type=Path), required=True)
@click.option(
    "--target",
    "torch_source",
    default=None,
    help="The torch model (.pt/.pt2) it was exported from: adds the parity figures and gate.",
)
@click.option(
    "--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True
)
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Override the policy.")
@click.option(
    "--allow-code", is_flag=True, help="Allow a module:function --target (runs its code)."
)
@threads_option()
def check_onnx(
    model: Path,
    policy_path: Path,
    torch_source: str | None,
    device: str,
    batch_size: int | None,
    allow_code: bool,
    threads: int | None,
) -> None:
    """Check MODEL.onnx: clean accuracy and torch parity; exit 1 if an ONNX gate fails.

    MODEL.onnx runs on the policy's clean probes with ONNX Runtime.

    ONNX Runtime gives no input gradients, so an ONNX model is never attacked: this checks its
    clean accuracy (gate onnx_clean_accuracy) and, with --target, that it predicts as the torch
    model does (gate onnx_parity). Uses the CUDA provider when a GPU is present. Needs ONNX
    Runtime: pip install 'sia-audit[onnx]' (or 'sia-audit[onnx-gpu]').
    """
    from sia_audit.app.check_onnx import check_only
    from sia_audit.onnx.runtime import import_onnxruntime

    import_onnxruntime()  # an extra: without it, one line naming it, before anything is loaded
    policy = load_policy(policy_path)
    check_something(policy.gates, policy_path, torch_source)
    set_threads(threads)
    outcome = check_only(
        model,
        policy,
        torch_source=torch_source,
        device=device,
        batch_size=batch_size,
        allow_code=allow_code,
    )
    for line in describe(outcome.result):
        click.echo(line)
    finish(outcome.verdicts, outcome.passed, "check-onnx")
