"""The sia-audit command line: a thin click layer that ends every command with a code CI can trust.

0 passed, 1 a gate failed, 2 bad input (a SiaAuditError: one line naming the problem and the
fix), 3 an internal error (any other exception: a bug, one line, the traceback with --debug),
130 / 143 interrupted by SIGINT / SIGTERM (what a CI runner sends on cancel or timeout), with
nothing half-written kept. docs/design.md states the contract.
"""

from __future__ import annotations

import contextlib
import importlib
import signal
from collections.abc import Iterator
from typing import Any

import click

from sia_audit import __version__
from sia_audit.errors import SiaAuditError

INTERNAL_ERROR = 3  # an exception that is not a SiaAuditError: a bug, never a verdict
INTERRUPTED = 130  # SIGINT (Ctrl-C): 128 + 2, as shells report it
TERMINATED = 143  # SIGTERM (a CI runner's cancel or timeout): 128 + 15


class Terminated(BaseException):
    """SIGTERM, raised in the main thread like KeyboardInterrupt for SIGINT.

    A BaseException, so that no `except Exception` turns it into an error message: it unwinds
    through every `with`/`finally`, and the atomic writers (fsutil) remove their temporary files
    and folders on the way out, as they do for Ctrl-C.
    """


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated


@contextlib.contextmanager
def sigterm_as_exception() -> Iterator[None]:
    """While a command runs, SIGTERM raises Terminated (restored afterwards); a no-op outside
    the main thread, where Python cannot install signal handlers."""
    try:
        previous = signal.signal(signal.SIGTERM, _raise_terminated)
    except ValueError:  # not the main thread
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def one_line(exc: BaseException, limit: int = 200) -> str:
    """An exception as `Type: first line of its message`, at most `limit` characters."""
    lines = str(exc).strip().splitlines()
    text = f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


# name -> (module, attribute, the first line of its help). Commands are imported only when they
# run, and a command's module imports what needs torch only inside the command, so `--help`,
# `X --help`, render and policy-schema start in well under a second instead of paying seconds
# for torch (train-generator's --help still imports it). tests/test_cli.py keeps the help lines
# in step; tests/test_start_cost.py the imports.
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

    def make_context(
        self,
        info_name: str | None,
        args: list[str],
        parent: click.Context | None = None,
        **extra: Any,
    ) -> click.Context:
        # The group's own options (`sia-audit --bogus`) fail before `invoke`: one line too.
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as exc:
            if type(exc).__name__ == "NoArgsIsHelpError":  # bare `sia-audit`: the help
                raise
            message = exc.format_message().rstrip(".")
            click.echo(f"sia-audit: error: {message}; see `{info_name} --help`", err=True)
            raise click.exceptions.Exit(exc.exit_code) from None

    def invoke(self, ctx: click.Context) -> Any:
        def debug() -> bool:  # set by cli(), once the options are parsed
            return bool(ctx.meta.get("sia_audit.debug"))

        try:
            with sigterm_as_exception():
                return super().invoke(ctx)
        except SiaAuditError as exc:
            if debug():
                raise
            click.echo(f"sia-audit: error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("sia-audit: interrupted; nothing half-written was kept", err=True)
            ctx.exit(INTERRUPTED)
        except Terminated:
            click.echo("sia-audit: terminated (SIGTERM); nothing half-written was kept", err=True)
            ctx.exit(TERMINATED)
        except click.ClickException as exc:  # a bad option or argument: one line too, exit 2
            if debug():
                raise
            where = exc.ctx.command_path if isinstance(exc, click.UsageError) and exc.ctx else ""
            see = f"; see `{where} --help`" if where else ""
            message = exc.format_message().rstrip(".")
            click.echo(f"sia-audit: error: {message}{see}", err=True)
            # Not exc.exit_code: click's ClickException and FileError carry 1, which here says a
            # gate failed. Whatever click refuses is bad input.
            ctx.exit(SiaAuditError.exit_code)
        except (click.exceptions.Exit, click.exceptions.Abort):
            raise  # --help, --version, ctx.exit: click's own way out
        except Exception as exc:
            # Not a SiaAuditError: a bug. It must never read as a verdict (exit 1 is "a gate
            # failed"), so it gets its own code, and one line unless --debug asks for more.
            if debug():
                raise
            click.echo(
                f"sia-audit: internal error: {one_line(exc)}; this is a bug in sia-audit, not "
                "a verdict on the model: re-run with --debug for the traceback and report it",
                err=True,
            )
            ctx.exit(INTERNAL_ERROR)


@click.group(cls=_Cli, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="sia-audit")
@click.option("--debug", is_flag=True, help="Show the full traceback of an error.")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Audit a vision model with Semantic Image Attack and gate it on a policy.

    \b
    Exit codes:
      0    every gate passed
      1    a gate failed or was unmeasurable, or a `fail` validity flag was raised
      2    bad input: the run could not be done (one line naming the problem and the fix)
      3    internal error: a bug in sia-audit, never a verdict (--debug shows the traceback)
      130  interrupted (SIGINT, Ctrl-C); nothing half-written is kept
      143  terminated (SIGTERM: a CI runner's cancel or timeout); as 130
    """
    ctx.meta["sia_audit.debug"] = debug


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="sia-audit")


if __name__ == "__main__":  # pragma: no cover
    main()
