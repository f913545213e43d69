"""`sia-audit compare`: the regression gate between two reports, without re-running anything."""

from __future__ import annotations

from pathlib import Path

import click

from sia_audit.commands.run import finish
from sia_audit.errors import ConfigError, OutputError
from sia_audit.formats import comparison
from sia_audit.fsutil import atomic_write_files, check_writable_folder, sha256_of
from sia_audit.policy import load_policy


@click.command("compare")
@click.argument("base", type=click.Path(path_type=Path))
@click.argument("head", type=click.Path(path_type=Path))
@click.option("--policy", "policy_path", type=click.Path(path_type=Path), required=True)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Also write summary.md (a pull-request comment) and comparison.json to this folder "
    "(not a run's report folder: its summary.md would be replaced).",
)
def compare(base: Path, head: Path, policy_path: Path, out: Path | None) -> None:
    """Check HEAD report.json against the baseline BASE with the policy's regression gates.

    Every gate's change (head - baseline, paired by probe) and its interval is printed on
    stdout, then the verdict. Exit 0 when no gate failed, 1 when one did.
    """
    from sia_audit.app.run import regressions  # torch: not for --help
    from sia_audit.gates.regression import load_report, table_from_report
    from sia_audit.gates.thresholds import passed

    policy = load_policy(policy_path)
    if policy.gates.regression is None:
        raise ConfigError(f"{policy_path}: gates.regression is missing; nothing to compare")
    if out is not None:
        check_writable_folder(out)
        if (out / "report.json").exists():
            raise OutputError(
                f"--out {out} holds a run's reports, whose summary.md the comparison would "
                "replace; choose another folder"
            )
    base_report, head_report = load_report(base), load_report(head)
    base_table = table_from_report(base_report, str(base))
    head_table = table_from_report(head_report, str(head))
    verdicts = regressions(policy, base_table, head_table, str(base))
    ok = passed(verdicts)
    where = f"baseline {base}, head {head}"
    if out is not None:
        data = comparison.comparison_dict(
            verdicts,
            ok,
            (base, base_report, sha256_of(base)),
            (head, head_report, sha256_of(head)),
            (policy_path, sha256_of(policy_path)),
        )
        atomic_write_files(out, comparison.comparison_files(data))
        where += f"; {comparison.SUMMARY_FILE} and {comparison.JSON_FILE} in {out}"
    # Every gate, passed ones too: the paired change and its interval are what a reviewer reads.
    # One stream (stdout), so that a CI log or a redirect keeps the lines with their verdict.
    finish(verdicts, ok, where, every_gate=True, one_stream=True)
