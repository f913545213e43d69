"""`sia-audit demo`: the main job on the embedded default (synthfaces, shipped G, demo model)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import click

import sia_audit
from sia_audit.commands.run import finish, write_reports
from sia_audit.errors import OutputError, UsageError
from sia_audit.policy import load_policy
from sia_audit.probes.synthfaces.contact_sheet import contact_sheet
from sia_audit.run import run as run_audit

MARKER = ".sia-audit-demo"  # only a folder carrying this is ever replaced by the demo
REPO = Path(sia_audit.__file__).resolve().parent.parent
MODEL = REPO / "examples" / "models" / "eyeglasses_control.pt"
POLICY = REPO / "policies" / "example.yaml"


def _fresh_output(out: Path) -> None:
    """Clear a previous demo's folder; refuse any other non-empty folder (never lose data)."""
    if not out.exists():
        return
    if out.is_dir() and (out / MARKER).is_file():
        shutil.rmtree(out)
    elif not out.is_dir() or any(out.iterdir()):
        raise OutputError(f"{out} exists and was not written by the demo; choose another --out")


@click.command()
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("demo-out"),
    show_default=True,
    help="Output folder (a previous demo's output there is replaced).",
)
@click.option("--count", type=click.IntRange(min=1), default=None, help="Probes [policy's].")
def demo(out: Path, count: int | None) -> None:
    """Audit the demo Eyeglasses classifier on the embedded default; exit like `run`."""
    if not MODEL.is_file() or not POLICY.is_file():
        raise UsageError(
            f"the demo needs {MODEL.relative_to(REPO)} and {POLICY.relative_to(REPO)}; "
            "run it from a clone of the repository (bash scripts/setup.sh installs it editable)"
        )
    policy = load_policy(POLICY)
    if count is not None:
        policy = policy.model_copy(
            update={"probes": policy.probes.model_copy(update={"count": count})}
        )
    _fresh_output(out)
    click.echo(
        f"sia-audit demo: auditing {MODEL.relative_to(REPO)} on {policy.probes.count} synthetic "
        f"faces through the shipped generator, under {POLICY.relative_to(REPO)}"
    )
    with click.progressbar(length=policy.probes.count, label="attacking", file=sys.stderr) as bar:
        outcome = run_audit(str(MODEL), policy, POLICY, progress=lambda stage, n: bar.update(n))
    write_reports(out, outcome)
    contact_sheet(seed=0).save(out / "synthfaces.png")
    (out / MARKER).write_text("written by sia-audit demo\n", encoding="utf-8")
    click.echo(
        f"summary: {out / 'summary.md'}; probe-domain contact sheet: {out / 'synthfaces.png'}"
    )
    finish(outcome.verdicts, outcome.passed, f"reports in {out}")
