"""`sia-audit run`: audit a target under a policy, write the reports, exit 0 / 1 / 2."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import click

from sia_audit.commands.options import format_option, set_threads, threads_option
from sia_audit.distributed import DEFAULT_TIMEOUT, ranks_from_env
from sia_audit.formats.registry import chosen_formats, write_reports
from sia_audit.formats.views import checked, gate_counts
from sia_audit.fsutil import check_writable_folder
from sia_audit.policy import load_policy

if TYPE_CHECKING:  # the CLI imports torch only when a command runs, not for its --help
    from sia_audit.gates.flags import ValidityFlag
    from sia_audit.results import GateVerdict


@click.command("run")
@click.argument("target")
@click.option("--policy", "policy_path", type=click.Path(path_type=Path), required=True)
@click.option(
    "--out", type=click.Path(path_type=Path), default=Path("sia-report"), show_default=True
)
@click.option(
    "--device", type=click.Choice(["auto", "cpu", "cuda"]), default="auto", show_default=True
)
@click.option("--batch-size", type=click.IntRange(min=1), default=None, help="Override the policy.")
@click.option(
    "--baseline",
    type=click.Path(path_type=Path),
    default=None,
    help="report.json of the base branch, for the policy's regression gates.",
)
@click.option(
    "--onnx",
    type=click.Path(path_type=Path),
    default=None,
    help="The model's ONNX export: its clean accuracy and parity, for the policy's ONNX gates.",
)
@click.option("--allow-code", is_flag=True, help="Allow a module:function TARGET (runs its code).")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option(
    "--dist-timeout",
    type=float,
    default=DEFAULT_TIMEOUT,
    show_default=True,
    help="Under torchrun: seconds a rank waits for the others before the run ends with exit 2.",
)
@threads_option()
@format_option("Report formats to write (repeat, or comma-separate) [default: all].")
def run(
    target: str,
    policy_path: Path,
    out: Path,
    device: str,
    batch_size: int | None,
    baseline: Path | None,
    onnx: Path | None,
    allow_code: bool,
    quiet: bool,
    dist_timeout: float,
    threads: int | None,
    formats: tuple[str, ...],
) -> None:
    """Audit TARGET (TorchScript .pt, torch.export .pt2) under a policy; exit 1 if a gate fails.

    Writes report.json, report.html, report.pdf and summary.md to --out (together, atomically).
    Under torchrun the probe set is sharded across the ranks and rank 0 writes the reports.
    """
    from sia_audit.app.run import preflight, run_distributed  # torch: only once a run starts
    from sia_audit.app.run import run as run_audit

    set_threads(threads)
    ranks = ranks_from_env()
    chosen = chosen_formats(formats)
    if ranks is not None:
        outcome = run_distributed(
            ranks,
            dist_timeout,
            target=target,
            policy_path=policy_path,
            out=out,
            device=device,
            chosen=chosen,
            baseline=baseline,
            onnx=onnx,
            progress_bar=progress_bar,
            show_progress=not quiet,
            batch_size=batch_size,
            allow_code=allow_code,
        )
        if outcome is None:  # not the rank that reports
            return
        where = f"reports in {out} ({ranks.world} ranks)"
    else:
        preflight(chosen, onnx)
        policy = load_policy(policy_path)
        check_writable_folder(out)
        with contextlib.ExitStack() as stack:
            bars = []  # opened once the inputs are loaded: a bad input prints one line alone

            def start() -> None:
                bars.append(stack.enter_context(progress_bar(policy.probes.count, not quiet)))

            outcome = run_audit(
                target,
                policy,
                policy_path,
                device=device,
                batch_size=batch_size,
                allow_code=allow_code,
                baseline=baseline,
                onnx=onnx,
                progress=lambda stage, n: bars[0].update(n),
                loaded_hook=start,
            )
        where = f"reports in {out}"
    write_reports(out, outcome, chosen)
    finish(outcome.verdicts, outcome.passed, where, outcome.notes, flags=outcome.flags)


def progress_bar(count: int, show: bool):  # noqa: ANN201 - click's ProgressBar
    sink = sys.stderr if show else open(os.devnull, "w")  # noqa: SIM115 - lives with the bar
    return click.progressbar(length=count, label="attacking", file=sink)


def finish(
    verdicts: Sequence[GateVerdict],
    ok: bool,
    where: str,
    notes: Sequence[str] = (),
    *,
    every_gate: bool = False,
    flags: Sequence[ValidityFlag] = (),
    one_stream: bool = False,
) -> None:
    """Print the raised validity flags and the gates that did not pass (with `every_gate`, all
    of them) on stderr (with `one_stream`, on stdout), then the verdict on stdout, counting
    skipped gates apart; exit 0 (passed) or 1 (a gate or a `fail` flag failed)."""
    err = not one_stream
    for note in notes:
        click.echo(f"sia-audit: note: {note}", err=err)
    for f in flags:
        if f.raised:
            click.echo(f"FLAG    {f.name} ({f.level}): {f.message}", err=err)
    for v in verdicts:
        if every_gate or v.status != "pass":
            click.echo(f"{v.status.upper():7s} {v.message}", err=err)
    statuses = [v.status for v in verdicts]
    verdict = "passed" if ok else "FAILED"
    if ok and not checked(statuses):  # nothing failed because nothing was checked: say so
        verdict = "passed, but no gate was checked"
    click.echo(f"sia-audit: {verdict} ({gate_counts(statuses)}); {where}")
    sys.exit(0 if ok else 1)
