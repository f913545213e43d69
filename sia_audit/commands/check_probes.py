"""`sia-audit check-probes`: validate a CelebA-format probe folder before an audit uses it."""

from __future__ import annotations

from pathlib import Path

import click

from sia_audit.probes.synthfaces.attributes import ATTRIBUTES


@click.command("check-probes")
@click.argument("data", type=click.Path(path_type=Path))
@click.option(
    "--policy",
    "policy_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Read DATA as a run under this policy does: its split, count, center_crop and size, "
    "and its generator's attributes, so the manifest is the one the report will record.",
)
@click.option("--split", type=click.Choice(["train", "val", "test"]), default=None)
@click.option("--first-n", type=int, default=None, help="Keep the first N images of the split.")
@click.option(
    "--attrs",
    default=None,
    show_default="the policy generator's, else the paper's 15",
    help="Comma-separated attribute names the probe set must label.",
)
@click.option("--center-crop", type=int, default=None, help="CenterCrop size (CelebA: 170).")
@click.option("--size", type=int, default=None, help="Resize to SIZE x SIZE.")
def check_probes(
    data: Path,
    policy_path: Path | None,
    split: str | None,
    first_n: int | None,
    attrs: str | None,
    center_crop: int | None,
    size: int | None,
) -> None:
    """Check the probe folder DATA (CelebA format) and summarise it; exit 2 on any problem.

    Every selected image must exist and have a safe name, the attribute file must parse and
    label the wanted attributes, and the first and last images must decode. The manifest
    hash covers the selection, the attributes and the preprocessing: it equals a report's
    probe_manifest_sha256 when DATA is read alike, which --policy does (options given beside
    it win over the policy's).
    """
    from sia_audit.probes.celeba import CelebAProbes, Preprocess  # torch: not for --help

    names = [a.strip() for a in attrs.split(",") if a.strip()] if attrs is not None else None
    if policy_path is not None:
        from sia_audit.app.inputs import generator_path  # torch: only when a policy is given
        from sia_audit.generators.checkpoint import load_generator
        from sia_audit.policy import load_policy

        policy = load_policy(policy_path)
        p = policy.probes
        split = split or p.split
        first_n = first_n if first_n is not None else p.count
        center_crop = center_crop if center_crop is not None else p.center_crop
        size = size if size is not None else p.size
        if names is None:
            names = list(load_generator(generator_path(policy.generator.source)).attr_names)
    names = names if names is not None else list(ATTRIBUTES)
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
    read = "as the policy reads it" if policy_path is not None else "of these attributes"
    click.echo(f"manifest sha256: {probes.manifest_sha256()} ({read})")
