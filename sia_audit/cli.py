"""The sia-audit command line: a thin click layer turning SiaAuditError into one line + exit 2."""

from __future__ import annotations

import sys
from typing import Any

import click

from sia_audit import __version__
from sia_audit.commands.check_probes import check_probes
from sia_audit.commands.compare import compare
from sia_audit.commands.demo import demo
from sia_audit.commands.policy_schema import policy_schema
from sia_audit.commands.render import render
from sia_audit.commands.run import run
from sia_audit.commands.synth import synth
from sia_audit.commands.train_generator import train_generator
from sia_audit.errors import SiaAuditError


class _Cli(click.Group):
    """Catches the project's errors once, for every command."""

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


cli.add_command(run)
cli.add_command(compare)
cli.add_command(synth)
cli.add_command(check_probes)
cli.add_command(demo)
cli.add_command(train_generator)
cli.add_command(policy_schema)
cli.add_command(render)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="sia-audit")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
