"""`sia-audit generate`: write SIA adversaries of a target as a CelebA-format training set."""

from __future__ import annotations

import contextlib
import os
import sys
from pathlib import Path

import click

from sia_audit.commands.options import set_threads, threads_option


@click.command("generate")
@click.argument("target")
@click.option("--policy", "policy_path", type=click.Path(path_type=Path), required=True)
@click.option("--out", type=click.Path(path_type=Path), required=True, help="A new folder.")
@click.option(
    "--count",
    "-n",
    type=int,
    default=None,
    help="Images to attack [policy's probes.count]; with --where, the first N that match. A "
    "CelebA folder must hold (or match) that many.",
)
@click.option(
    "--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True
)
@click.option("--batch-size", type=int, default=None, help="Override the policy.")
@click.option("--allow-code", is_flag=True, help="Allow a module:function TARGET (runs its code).")
@click.option(
    "--source",
    type=click.Path(path_type=Path),
    default=None,
    help="A CelebA-format folder (e.g. your training set) to take the images from, instead of "
    "the policy's probes; read with the policy's probes.size and center_crop.",
)
@click.option("--split", type=click.Choice(["train", "val", "test"]), default=None,
              help="With --source: the split to take the images from [all].")  # fmt: skip
@click.option(
    "--where",
    multiple=True,
    metavar="ATTR=0|1",
    help="Only the images with this attribute on (1) or off (0), e.g. Eyeglasses=1 for the "
    "minority class; repeat to combine.",
)
@click.option(
    "--per-image",
    type=int,
    default=1,
    show_default=True,
    help="Adversaries per chosen image: the first from the image itself, the others from "
    "random starts (seeds 1, 2, ...).",
)
@click.option("--quiet", is_flag=True, help="No progress bar.")
@threads_option()
def generate(
    target: str,
    policy_path: Path,
    out: Path,
    count: int | None,
    device: str,
    batch_size: int | None,
    allow_code: bool,
    source: Path | None,
    split: str | None,
    where: tuple[str, ...],
    per_image: int,
    quiet: bool,
    threads: int | None,
) -> None:
    """Write SIA adversaries of TARGET into the new folder OUT as a CelebA-format dataset.

    OUT gets img_align_celeba/*.png (the adversaries at the generator's size),
    list_attr_continuous.txt (the adversarial attributes a_T), list_attr_celeba.txt (a_T as
    -1/1), list_target_labels.txt (binary targets: each probe's label, -1/1; keypoint targets:
    list_landmarks_68.txt), list_eval_partition.txt (80/10/10 in contiguous blocks) and
    sia_adversaries.json (inputs by sha256, the attack, each image's source probe and whether
    the attack flipped it). SIA runs as variant full with the policy's steps, etas and radii.

    The images are the first --count of the policy's probes, or of --source's split (a
    CelebA-format folder, your own data); --where keeps those with an attribute on or off
    (say the minority class), and with --count takes the first --count that match;
    --per-image K writes K adversaries of each, the first from the image itself and the others
    from random starts. A --count above what a CelebA folder holds (or matches) is refused;
    synthfaces draws any count.
    """
    from sia_audit.app.generate import GenerateRequest, check_numbers  # torch: not for --help
    from sia_audit.app.generate import generate as run_generate

    check_numbers(count, batch_size, per_image)
    set_threads(threads)
    request = GenerateRequest(
        target, policy_path, out, count, device, batch_size, allow_code,
        source=source, split=split, where=where, per_image=per_image,
    )  # fmt: skip
    sink = open(os.devnull, "w") if quiet else sys.stderr  # noqa: SIM115 - lives with the bar
    with contextlib.ExitStack() as stack:
        bars = []

        def start(total: int) -> None:
            bars.append(stack.enter_context(click.progressbar(length=total, label="attacking",
                                                              file=sink)))  # fmt: skip

        summary = run_generate(request, progress=lambda _, n: bars[0].update(n), start=start)
    train, val, test = summary.splits
    click.echo(
        f"wrote {summary.count} adversaries to {summary.out} in {summary.seconds:.1f} s "
        f"(train/val/test {train}/{val}/{test}); the attack flipped {summary.flipped} of the "
        f"{summary.right_on_x0} probes the target got right"
    )
