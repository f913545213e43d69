"""Read a policy file: YAML -> Policy, with errors that name the file, the key path and the line."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from sia_audit.errors import ConfigError
from sia_audit.policy.models import Policy

_MESSAGES = {  # pydantic's wording -> what a policy author should read
    "extra_forbidden": "unknown key",
    "missing": "required key missing",
}


def _line_of(node: yaml.Node | None, loc: tuple[Any, ...]) -> int:
    """1-based line of the deepest YAML node on the key path `loc` that exists in the file."""
    line = node.start_mark.line + 1 if node is not None else 1
    for key in loc:
        if isinstance(node, yaml.MappingNode):
            match = next((kv for kv in node.value if kv[0].value == str(key)), None)
            if match is None:
                break
            line = match[0].start_mark.line + 1
            node = match[1]
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
            line = node.start_mark.line + 1
        else:
            break
    return line


def _repeated_key(node: yaml.Node | None, path: tuple[str, ...] = ()) -> tuple[str, int] | None:
    """The first mapping key given twice (YAML keeps the last silently), with its line."""
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            name = str(key.value)
            if name in seen:
                return ".".join((*path, name)), key.start_mark.line + 1
            seen.add(name)
            found = _repeated_key(value, (*path, name))
            if found:
                return found
    elif isinstance(node, yaml.SequenceNode):
        for i, item in enumerate(node.value):
            found = _repeated_key(item, (*path, str(i)))
            if found:
                return found
    return None


MAX_VALUES = 10_000  # a policy holds a few hundred keys and values; aliases may not expand past


def _expanded_size(root: yaml.Node | None, limit: int = MAX_VALUES) -> int:
    """How many keys and values the document holds once every alias is expanded, counted
    without expanding them (each node once), stopping past `limit`.

    YAML aliases repeat a node by reference: nine nested levels of nine aliases are half a
    kilobyte of text and 387 million values once expanded, which the checks below (and
    pydantic) would walk one by one. A node that contains an alias of itself counts as too many.
    """
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: yaml.Node) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        if key in active:  # an alias of a node inside itself: infinitely many values
            return limit + 1
        active.add(key)
        total = 1
        if isinstance(node, yaml.MappingNode):
            children: list[yaml.Node] = [n for kv in node.value for n in kv]
        elif isinstance(node, yaml.SequenceNode):
            children = list(node.value)
        else:
            children = []
        for child in children:
            total += size(child)
            if total > limit:
                break
        active.discard(key)
        sizes[key] = total
        return total

    return 0 if root is None else size(root)


def _describe(error: ErrorDetails) -> str:
    message = _MESSAGES.get(error["type"], error["msg"])
    return message.removeprefix("Value error, ")


class _Loader(yaml.SafeLoader):
    """YAML 1.2's booleans: only true and false. YAML 1.1 also reads on, off, yes and no as
    booleans, which turns a policy key like `on: h` (the SDAR gate's) into True."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool",
    re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
    list("tTfF"),
)


def load_policy(path: Path) -> Policy:
    """Parse and validate a policy file; any problem is one ConfigError line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ConfigError(f"{path}: cannot read the policy ({reason}); check the path") from exc
    try:
        root = yaml.compose(text, Loader=_Loader)
        if _expanded_size(root) > MAX_VALUES:
            raise ConfigError(
                f"{path}: its YAML aliases expand to more than {MAX_VALUES:,} keys and values, "
                "far more than any policy holds; write the repeated parts out or use fewer "
                "aliases"
            )
        data = yaml.load(text, Loader=_Loader)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark is not None else str(path)
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise ConfigError(f"{where}: not valid YAML ({problem}); fix the syntax") from exc
    except RecursionError as exc:  # the YAML composer recurses once per nesting level
        raise ConfigError(
            f"{path}: nested too deeply to be a policy; a policy is a few levels of sections"
        ) from exc
    if not isinstance(data, dict):
        kind = "empty" if data is None else type(data).__name__
        raise ConfigError(f"{path}: a policy is a YAML mapping of sections, got {kind}")
    repeated = _repeated_key(root)
    if repeated is not None:
        key, line = repeated
        raise ConfigError(f"{path}:{line}: {key}: given twice; keep one (YAML would keep the last)")
    try:
        return Policy.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = tuple(error["loc"])
        key = ".".join(str(k) for k in loc) or "(top level)"
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        raise ConfigError(
            f"{path}:{_line_of(root, loc)}: {key}: {_describe(error)}{more}; "
            "see `sia-audit policy-schema`"
        ) from exc


def policy_schema() -> str:
    """The policy's JSON Schema, as published for editors and CI linters."""
    return json.dumps(Policy.model_json_schema(), indent=2) + "\n"
