"""`sia-audit run`: audit a target under a policy, write the reports, exit 0 / 1 / 2."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from sia_audit.audit import plan_batches
from sia_audit.commands.report_files import FORMATS, chosen_formats, format_option, write_reports
from sia_audit.distributed import DEFAULT_TIMEOUT, Ranks, rank_device, ranks_from_env, session
from sia_audit.errors import SiaAuditError
from sia_audit.formats import pdf
from sia_audit.formats.interface import Format
from sia_audit.fsutil import check_writable_folder
from sia_audit.onnx.runtime import import_onnxruntime
from sia_audit.policy import load_policy
from sia_audit.run import load, run_sharded
from sia_audit.run import run as run_audit


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
    formats: tuple[str, ...],
) -> None:
    """Audit TARGET (TorchScript .pt, torch.export .pt2) under a policy; exit 1 if a gate fails.

    Writes report.json, report.html, report.pdf and summary.md to --out (together, atomically).
    Under torchrun the probe set is sharded across the ranks and rank 0 writes the reports.
    """
    ranks = ranks_from_env()
    if ranks is not None:
        run_distributed(
            ranks,
            dist_timeout,
            target=target,
            policy_path=policy_path,
            out=out,
            device=device,
            batch_size=batch_size,
            allow_code=allow_code,
            baseline=baseline,
            onnx=onnx,
            quiet=quiet,
            formats=formats,
        )
        return
    chosen = chosen_formats(formats)
    preflight(chosen, onnx)
    policy = load_policy(policy_path)
    check_writable_folder(out)
    with progress_bar(policy.probes.count, quiet) as bar:
        outcome = run_audit(
            target,
            policy,
            policy_path,
            device=device,
            batch_size=batch_size,
            allow_code=allow_code,
            baseline=baseline,
            onnx=onnx,
            progress=lambda stage, n: bar.update(n),
        )
    write_reports(out, outcome, chosen)
    finish(outcome.verdicts, outcome.passed, f"reports in {out}")


def preflight(chosen: tuple[Format, ...], onnx: Path | None, *, no_pdf: str = pdf.SKIP_PDF) -> None:
    """What the run needs from the machine, checked in seconds before the audit, not after it:
    a PDF renderer (WeasyPrint and the system's Pango) when report.pdf is chosen, and ONNX
    Runtime (an extra) for --onnx. `no_pdf` says how to do without the PDF."""
    if FORMATS["pdf"] in chosen:
        pdf.preflight(no_pdf)
    if onnx is not None:
        import_onnxruntime()


def progress_bar(count: int, quiet: bool):  # noqa: ANN201 - click's ProgressBar
    sink = open(os.devnull, "w") if quiet else sys.stderr  # noqa: SIM115 - lives with the bar
    return click.progressbar(length=count, label="attacking", file=sink)


def run_distributed(
    ranks: Ranks,
    timeout: float,
    *,
    target: str,
    policy_path: Path,
    out: Path,
    device: str,
    quiet: bool,
    formats: tuple[str, ...],
    baseline: Path | None,
    onnx: Path | None,
    **options,  # noqa: ANN003 - batch_size and allow_code, as `load` takes them
) -> None:
    """One rank of a torchrun run: every rank loads and attacks its shard; rank 0 reports.

    Ranks agree after loading, so a bad input on any of them ends all of them with exit 2
    before the attack; the other ranks exit 0 once rank 0 has their numbers.
    """
    with session(ranks, device, timeout) as s:
        loaded, error = None, None
        try:
            chosen = chosen_formats(formats)
            if ranks.writer:  # the one rank that writes the reports (and checks the ONNX export)
                preflight(chosen, onnx)
            policy = load_policy(policy_path)
            if ranks.writer:
                check_writable_folder(out)
            loaded = load(
                target,
                policy,
                policy_path,
                device=rank_device(device, ranks),
                baseline=baseline if ranks.writer else None,
                onnx=onnx if ranks.writer else None,
                **options,
            )
        except SiaAuditError as exc:
            error = exc
        s.agree(error)
        assert loaded is not None
        s.same_everywhere("set of inputs", loaded.fingerprint())
        share = len(plan_batches(len(loaded.probes), loaded.config.batch_size, 0, ranks.world))
        with progress_bar(
            min(len(loaded.probes), share * loaded.config.batch_size), quiet or not ranks.writer
        ) as bar:
            outcome = run_sharded(loaded, s, progress=lambda stage, n: bar.update(n))
    if outcome is None:
        return
    write_reports(out, outcome, chosen)
    finish(outcome.verdicts, outcome.passed, f"reports in {out} ({ranks.world} ranks)")


def finish(verdicts, ok: bool, where: str) -> None:  # noqa: ANN001 - GateVerdicts
    """Print the gates that did not pass and exit 0 (passed) or 1 (a gate failed)."""
    for v in verdicts:
        if v.status != "pass":
            click.echo(f"{v.status.upper():7s} {v.message}", err=True)
    verdict = "passed" if ok else "FAILED"
    click.echo(f"sia-audit: {verdict} ({len(verdicts)} gates); {where}")
    sys.exit(0 if ok else 1)
