"""`sia-audit synth`: write a synthetic face dataset in CelebA format."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from sia_audit.fsutil import check_new_dir
from sia_audit.probes.synthfaces import SIZES


@click.command()
@click.argument("out", type=click.Path(path_type=Path))
@click.option("--count", "-n", type=int, default=1000, show_default=True, help="Number of faces.")
@click.option("--seed", type=int, default=0, show_default=True, help="Seed: same seed, same bytes.")
@click.option(
    "--size",
    type=click.Choice([str(s) for s in SIZES]),
    default="64",
    show_default=True,
    help="Image side in pixels.",
)
@click.option(
    "--correlate",
    "correlations",
    multiple=True,
    metavar="A->B@P",
    help="Plant P(B on | A on) = P, e.g. 'Eyeglasses->Mustache@0.95'. Repeatable, in order.",
)
def synth(out: Path, count: int, seed: int, size: str, correlations: tuple[str, ...]) -> None:
    """Render COUNT synthetic faces into the new folder OUT, in CelebA format.

    OUT gets img_align_celeba/*.png, list_attr_celeba.txt (-1/1), list_attr_continuous.txt
    (intensities in [0, 1]), list_eval_partition.txt (80/10/10), list_landmarks_68.txt and the
    face parameters, so every edit of a face can be re-rendered as ground truth.
    """
    from sia_audit.probes.synthfaces.dataset import check_request, synthesize  # torch
    from sia_audit.probes.synthfaces.sampler import parse_correlations

    # All input is checked before anything is written or printed.
    parsed = parse_correlations(correlations)
    check_request(count, int(size))
    check_new_dir(out)
    with click.progressbar(length=count, label="rendering", file=sys.stderr) as bar:
        synthesize(out, count, seed, size=int(size), correlations=parsed, progress=bar.update)
    click.echo(f"wrote {count} faces ({size}x{size}, seed {seed}) to {out}")
