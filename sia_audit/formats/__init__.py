"""Report formats: each renders a RunOutcome to text; `sia_audit.commands.run` writes the files."""
