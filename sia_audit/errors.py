"""The one exception family of sia-audit: every expected failure is a SiaAuditError."""

from __future__ import annotations


class SiaAuditError(Exception):
    """A run that cannot be done. The message names the problem and the fix, in one line.

    The CLI catches this once, prints the message and exits with `exit_code` (2: could not run).
    """

    exit_code = 2


class UsageError(SiaAuditError):
    """Bad command-line arguments or option values."""


class DataError(SiaAuditError):
    """A probe set or dataset that is missing, malformed or inconsistent."""


class ConfigError(SiaAuditError):
    """An invalid policy or configuration file."""


class ModelError(SiaAuditError):
    """A target or generator that cannot be loaded or does not fit its contract."""


class OutputError(SiaAuditError):
    """An output location that cannot be written without losing data."""
