"""`sia-audit calibrate`: a policy's ceilings from the reports of models a team trusts."""

from __future__ import annotations

from pathlib import Path

import click

from sia_audit.errors import UsageError
from sia_audit.fsutil import atomic_write_text
from sia_audit.gates.calibrate import MARGINS, as_yaml, calibrate
from sia_audit.policy import load_policy
from sia_audit.report_schema import load


def _margins(pairs: tuple[str, ...]) -> dict[str, float]:
    """--margin GATE=VALUE options as a dict; anything else is one exit-2 line."""
    out = {}
    for pair in pairs:
        gate, _, text = pair.partition("=")
        gate = gate.strip()
        try:
            value = float(text)
        except ValueError:
            value = -1.0
        if gate not in MARGINS or not 0 <= value < float("inf"):
            raise UsageError(
                f"--margin {pair!r}: write GATE=VALUE, VALUE >= 0, GATE one of "
                f"{', '.join(MARGINS)}; e.g. flip_rate=0.03"
            )
        out[gate] = value
    return out


@click.command("calibrate")
@click.argument("reports", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--policy", "policy_path", type=click.Path(path_type=Path), required=True)
@click.option(
    "--margin",
    "margins",
    multiple=True,
    metavar="GATE=VALUE",
    help="Margin above the largest trusted figure for one gate (repeatable); the defaults are "
    "what two seeds of one truthful recipe differed by on the validity suite.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Write the gates fragment to this file instead of printing it.",
)
def calibrate_command(
    reports: tuple[Path, ...], policy_path: Path, margins: tuple[str, ...], out: Path | None
) -> None:
    """Suggest the policy's per-attribute and SDAR ceilings from REPORTS of trusted models.

    Audit two or more truthful models of your task (other seeds or architectures) under the
    policy first; each ceiling is the largest figure they show plus a margin.
    """
    policy = load_policy(policy_path)
    records = [(str(path), load(path)) for path in reports]
    rows = calibrate(policy, records, _margins(margins))
    if not rows:
        raise UsageError(
            f"{policy_path} has no per-attribute or SDAR gate to calibrate; add one (e.g. "
            "flip_rate: {max: 0.1, attributes: all, use_confidence: true}) and run again"
        )
    text = as_yaml(policy, rows)
    if len(records) == 1:
        click.echo(
            "note: one trusted model; the margin alone stands between the next truthful model "
            "and a false alarm: audit two or more",
            err=True,
        )
    if out is None:
        click.echo(text, nl=False)
    else:
        atomic_write_text(out, text)
        click.echo(f"sia-audit calibrate: {len(rows)} gates written to {out}", err=True)
