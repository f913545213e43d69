"""`sia-audit compare`: the regression gate between two reports, without re-running anything."""

from __future__ import annotations

from pathlib import Path

import click

from sia_audit.app.run import regressions
from sia_audit.commands.run import finish
from sia_audit.errors import ConfigError
from sia_audit.gates.regression import load_report, table_from_report
from sia_audit.gates.thresholds import passed
from sia_audit.policy import load_policy


@click.command("compare")
@click.argument("base", type=click.Path(path_type=Path))
@click.argument("head", type=click.Path(path_type=Path))
@click.option("--policy", "policy_path", type=click.Path(path_type=Path), required=True)
def compare(base: Path, head: Path, policy_path: Path) -> None:
    """Check HEAD report.json against the baseline BASE with the policy's regression gates.

    Every gate's change (head - baseline, paired by probe) and its interval is printed.
    """
    policy = load_policy(policy_path)
    if policy.gates.regression is None:
        raise ConfigError(f"{policy_path}: gates.regression is missing; nothing to compare")
    base_table = table_from_report(load_report(base), str(base))
    head_table = table_from_report(load_report(head), str(head))
    verdicts = regressions(policy, base_table, head_table, str(base))
    # Every gate, passed ones too: the paired change and its interval are what a reviewer reads.
    finish(verdicts, passed(verdicts), f"baseline {base}, head {head}", every_gate=True)
