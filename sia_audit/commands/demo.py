"""`sia-audit demo`: the main job on the embedded default (synthetic faces)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import click

from sia_audit.errors import OutputError
from sia_audit.probes.synthfaces.contact_sheet import contact_sheet
from sia_audit.probes.synthfaces.dataset import synthesize

MARKER = ".sia-audit-demo"  # only a folder carrying this is ever replaced by the demo


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
@click.option("--count", type=int, default=128, show_default=True, help="Probe faces.")
@click.option("--seed", type=int, default=0, show_default=True)
def demo(out: Path, count: int, seed: int) -> None:
    """Run the main job on the embedded default: synthetic faces (no download)."""
    _fresh_output(out)
    click.echo(
        "sia-audit demo: the SIA audit itself is not built yet; this renders the embedded "
        "default probe set (synthetic faces) and its contact sheet."
    )
    probes = out / "probes"
    with click.progressbar(length=count, label="rendering", file=sys.stderr) as bar:
        synthesize(probes, count, seed, progress=bar.update)
    contact_sheet(seed=seed).save(out / "synthfaces.png")
    (out / MARKER).write_text("written by sia-audit demo\n", encoding="utf-8")
    click.echo(f"probe set: {count} faces at 64x64 in {probes}")
    click.echo(f"contact sheet: {out / 'synthfaces.png'}")
