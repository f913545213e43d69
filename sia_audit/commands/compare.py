"""`sia-audit compare`: the regression gate between two reports, without re-running anything."""

from __future__ import annotations

from pathlib import Path

import click

from sia_audit.commands.run import finish
from sia_audit.compare import load_report, table_from_report
from sia_audit.errors import ConfigError
from sia_audit.gate import passed
from sia_audit.policy import load_policy
from sia_audit.run import regressions


@click.command("compare")
@click.argument("base", type=click.Path(path_type=Path))
@click.argument("head", type=click.Path(path_type=Path))
@click.option("--policy", "policy_path", type=click.Path(path_type=Path), required=True)
def compare(base: Path, head: Path, policy_path: Path) -> None:
    """Check HEAD report.json against BASE with the policy's regression gates (paired)."""
    policy = load_policy(policy_path)
    if policy.gates.regression is None:
        raise ConfigError(f"{policy_path}: gates.regression is missing; nothing to compare")
    base_table = table_from_report(load_report(base), str(base))
    head_table = table_from_report(load_report(head), str(head))
    verdicts = regressions(policy, base_table, head_table, str(base))
    finish(verdicts, passed(verdicts), f"{head} against {base}")
