"""Click commands of the sia-audit CLI, one module per command; `sia_audit.cli` registers them."""
