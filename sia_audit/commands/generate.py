"""`sia-audit generate`: write SIA adversaries of a target as a CelebA-format training set."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from sia_audit.app.generate import GenerateRequest, check_numbers
from sia_audit.app.generate import generate as run_generate
from sia_audit.commands.options import set_threads, threads_option
from sia_audit.policy import load_policy


@click.command("generate")
@click.argument("target")
@click.option("--policy", "policy_path", type=click.Path(path_type=Path), required=True)
@click.option("--out", type=click.Path(path_type=Path), required=True, help="A new folder.")
@click.option(
    "--count",
    "-n",
    type=int,
    default=None,
    help="Probes to attack [policy's probes.count]; a CelebA folder must hold that many.",
)
@click.option(
    "--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True
)
@click.option("--batch-size", type=int, default=None, help="Override the policy.")
@click.option("--allow-code", is_flag=True, help="Allow a module:function TARGET (runs its code).")
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
    A --count above what a CelebA probe folder holds is refused; synthfaces draws any count.
    """
    check_numbers(count, batch_size)
    set_threads(threads)
    total = count if count is not None else load_policy(policy_path).probes.count
    request = GenerateRequest(target, policy_path, out, count, device, batch_size, allow_code)
    with click.progressbar(
        length=total, label="attacking", file=open(os.devnull, "w") if quiet else sys.stderr
    ) as bar:
        summary = run_generate(request, progress=bar.update)
    train, val, test = summary.splits
    click.echo(
        f"wrote {summary.count} adversaries to {summary.out} in {summary.seconds:.1f} s "
        f"(train/val/test {train}/{val}/{test}); the attack flipped {summary.flipped} of the "
        f"{summary.right_on_x0} probes the target got right"
    )
