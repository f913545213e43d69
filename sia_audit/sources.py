"""Built-in sources: the `builtin:` names a policy or a command may give instead of a path.

There is one, `builtin:synthfaces`: the procedural faces (as probes or as training data), the
generator shipped trained on them and the attribute classifier shipped to judge its edits.
Every source string is told apart here, so an unknown `builtin:` name fails alike everywhere,
naming what to give instead.
"""

from __future__ import annotations

from sia_audit.errors import UsageError

PREFIX = "builtin:"
SYNTHFACES = PREFIX + "synthfaces"
BUILTINS = (SYNTHFACES,)


def is_builtin(source: str, *, kind: str, otherwise: str) -> bool:
    """Whether `source` names a built-in (True) or a path (False).

    Any other `builtin:` name is a UsageError: "unknown {kind} ...; use builtin:synthfaces or
    {otherwise}", where `otherwise` says which paths this source accepts.
    """
    if source in BUILTINS:
        return True
    if source.startswith(PREFIX):
        raise UsageError(f"unknown {kind} {source!r}; use {' or '.join((*BUILTINS, otherwise))}")
    return False
