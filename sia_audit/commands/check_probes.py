"""`sia-audit check-probes`: validate a CelebA-format probe folder before an audit uses it."""

from __future__ import annotations

from pathlib import Path

import click

from sia_audit.probes.celeba import CelebAProbes, Preprocess
from sia_audit.probes.synthfaces.attributes import ATTRIBUTES


@click.command("check-probes")
@click.argument("data", type=click.Path(path_type=Path))
@click.option("--split", type=click.Choice(["train", "val", "test"]), default=None)
@click.option("--first-n", type=int, default=None, help="Keep the first N images of the split.")
@click.option(
    "--attrs",
    default=",".join(ATTRIBUTES),
    show_default="the paper's 15",
    help="Comma-separated attribute names the probe set must label.",
)
@click.option("--center-crop", type=int, default=None, help="CenterCrop size (CelebA: 170).")
@click.option("--size", type=int, default=None, help="Resize to SIZE x SIZE.")
def check_probes(
    data: Path,
    split: str | None,
    first_n: int | None,
    attrs: str,
    center_crop: int | None,
    size: int | None,
) -> None:
    """Check the probe folder DATA (CelebA format) and summarise it; exit 2 on any problem.

    Every selected image must exist and have a safe name, the attribute file must parse and
    label the wanted attributes, and the first and last images must decode.
    """
    names = [a.strip() for a in attrs.split(",") if a.strip()]
    probes = CelebAProbes(
        data, names, split=split, first_n=first_n, preprocess=Preprocess(center_crop, size)
    )
    probes.load_images([0, len(probes) - 1])
    rate = probes.attrs.ge(0.5).float().mean(dim=0)
    click.echo(
        f"{len(probes)} probes in {data} (split {split or 'all'}), images {probes.output_size}"
    )
    click.echo(
        "on-rate: " + ", ".join(f"{n} {r:.2f}" for n, r in zip(names, rate.tolist(), strict=True))
    )
    click.echo(f"landmarks: {'yes' if probes.landmarks is not None else 'no'}")
    click.echo(f"manifest sha256: {probes.manifest_sha256()}")
