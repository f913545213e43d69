"""The sia-audit command line: a thin click layer turning SiaAuditError into one line + exit 2."""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from sia_audit import __version__
from sia_audit.errors import SiaAuditError

# name -> (module, attribute, the first line of its help). Commands are imported only when they
# run, so those that need no torch (render, policy-schema, --help) start in well under a second
# instead of paying seconds for torch. tests/test_cli.py keeps the help lines in step.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "run": (
        "sia_audit.commands.run",
        "run",
        "Audit TARGET (TorchScript .pt, torch.export .pt2) under a policy; exit 1 if a gate fails.",
    ),
    "compare": (
        "sia_audit.commands.compare",
        "compare",
        "Check HEAD report.json against the baseline BASE with the policy's regression gates.",
    ),
    "calibrate": (
        "sia_audit.commands.calibrate",
        "calibrate_command",
        "Suggest the policy's per-attribute and SDAR ceilings from REPORTS of trusted models.",
    ),
    "check-onnx": (
        "sia_audit.commands.check_onnx",
        "check_onnx",
        "Check MODEL.onnx: clean accuracy and torch parity; exit 1 if an ONNX gate fails.",
    ),
    "render": (
        "sia_audit.commands.render",
        "render",
        "Render report.html, report.pdf and summary.md from a saved REPORT.json.",
    ),
    "demo": (
        "sia_audit.commands.demo",
        "demo",
        "Audit the biased demo classifier on the embedded default; exit 0 if the gate catches it.",
    ),
    "synth": (
        "sia_audit.commands.synth",
        "synth",
        "Render COUNT synthetic faces into the new folder OUT, in CelebA format.",
    ),
    "generate": (
        "sia_audit.commands.generate",
        "generate",
        "Write SIA adversaries of TARGET into the new folder OUT as a CelebA-format dataset.",
    ),
    "check-probes": (
        "sia_audit.commands.check_probes",
        "check_probes",
        "Check the probe folder DATA (CelebA format) and summarise it; exit 2 on any problem.",
    ),
    "train-generator": (
        "sia_audit.commands.train_generator",
        "train_generator",
        "Train an AttGAN generator on DATA and write a one-file checkpoint to --out.",
    ),
    "policy-schema": (
        "sia_audit.commands.policy_schema",
        "policy_schema",
        "Print the JSON Schema of policy files (for editors and CI linters).",
    ),
}


class _Cli(click.Group):
    """Loads commands on demand and catches the project's errors once, for every command."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attribute, _ = COMMANDS[name]
        return getattr(importlib.import_module(module), attribute)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # From the table, so `--help` imports no command (and no torch).
        with formatter.section("Commands"):
            formatter.write_dl([(name, line) for name, (_, _, line) in COMMANDS.items()])

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except SiaAuditError as exc:
            if ctx.meta.get("sia_audit.debug"):
                raise
            click.echo(f"sia-audit: error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("sia-audit: interrupted; nothing half-written was kept", err=True)
            ctx.exit(130)


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="sia-audit")
@click.option("--debug", is_flag=True, help="Show the full traceback of an error.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Audit a vision model with Semantic Image Attack and gate it on a policy.

    Exit codes: 0 every gate passed, 1 a gate failed, 2 the run could not be done.
    """
    ctx.meta["sia_audit.debug"] = debug


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="sia-audit")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
