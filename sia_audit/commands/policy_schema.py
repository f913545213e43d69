"""`sia-audit policy-schema`: print the policy file's JSON Schema."""

from __future__ import annotations

import click

from sia_audit.policy import policy_schema as schema_text


@click.command("policy-schema")
def policy_schema() -> None:
    """Print the JSON Schema of policy files (for editors and CI linters)."""
    click.echo(schema_text(), nl=False)
