"""Reading one JSON object of a report key by key, each value checked for the type it must have.

A missing key or a wrong type is one `SchemaError` naming its path in the report, e.g.
`figures.sensitivity.sdar_s: missing`, so a damaged report says where it is damaged.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sia_audit.errors import DataError


def damaged(detail: str) -> str:
    """The one-line message for a report that cannot be read (`detail` says what is wrong)."""
    return (
        f"the report is damaged or not from this sia-audit ({detail}); "
        "re-run sia-audit run to write a new report.json"
    )


class SchemaError(DataError):
    """A report.json key that is missing or holds the wrong type; `detail` names its path."""

    def __init__(self, path: str, problem: str) -> None:
        self.detail = f"{path}: {problem}"
        super().__init__(damaged(self.detail))


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def text(value: Any, path: str) -> str:
    if not isinstance(value, str):
        raise SchemaError(path, f"expected text, got {_kind(value)}")
    return value


def number(value: Any, path: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise SchemaError(path, f"expected a number, got {_kind(value)}")
    return float(value)


def count(value: Any, path: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise SchemaError(path, f"expected an integer, got {_kind(value)}")
    return value


def flag(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise SchemaError(path, f"expected true or false, got {_kind(value)}")
    return value


@dataclass(frozen=True)
class Node:
    """One JSON object of a report and its path.

    `raw(key)` is the value as saved; the typed getters check it. A key marked `optional` may be
    missing (older reports lack it); the `_or_none` getters also take null.
    """

    obj: Mapping[str, Any]
    path: str

    @staticmethod
    def of(value: Any, path: str) -> Node:
        if not isinstance(value, Mapping):
            raise SchemaError(path, f"expected an object, got {_kind(value)}")
        return Node(value, path)

    def at(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def raw(self, key: str, optional: bool = False) -> Any:
        if key not in self.obj:
            if optional:
                return None
            raise SchemaError(self.at(key), "missing")
        return self.obj[key]

    def node(self, key: str) -> Node:
        return Node.of(self.raw(key), self.at(key))

    def node_or_none(self, key: str, optional: bool = False) -> Node | None:
        value = self.raw(key, optional)
        return None if value is None else Node.of(value, self.at(key))

    def text(self, key: str) -> str:
        return text(self.raw(key), self.at(key))

    def text_or_none(self, key: str, optional: bool = False) -> str | None:
        value = self.raw(key, optional)
        return None if value is None else text(value, self.at(key))

    def number(self, key: str) -> float:
        return number(self.raw(key), self.at(key))

    def number_or_none(self, key: str) -> float | None:
        value = self.raw(key)
        return None if value is None else number(value, self.at(key))

    def count(self, key: str) -> int:
        return count(self.raw(key), self.at(key))

    def flag(self, key: str) -> bool:
        return flag(self.raw(key), self.at(key))

    def items(self, key: str, optional: bool = False) -> tuple[Any, ...]:
        """A JSON array; a missing `optional` one is empty (null is not a list: `items_or_none`)."""
        if optional and key not in self.obj:
            return ()
        value = self.raw(key)
        if not isinstance(value, list):
            raise SchemaError(self.at(key), f"expected a list, got {_kind(value)}")
        return tuple(value)

    def items_or_none(self, key: str, optional: bool = False) -> tuple[Any, ...] | None:
        return None if self.raw(key, optional) is None else self.items(key)

    def texts(self, key: str, optional: bool = False) -> tuple[str, ...]:
        return tuple(
            text(v, f"{self.at(key)}[{i}]") for i, v in enumerate(self.items(key, optional))
        )

    def nodes(self, key: str, optional: bool = False) -> tuple[Node, ...]:
        """A JSON array of objects."""
        return tuple(
            Node.of(v, f"{self.at(key)}[{i}]") for i, v in enumerate(self.items(key, optional))
        )

    def members(self, key: str) -> tuple[tuple[str, Node], ...]:
        """A JSON object of objects by name (attacks, attributes), in saved order."""
        block = self.node(key)
        return tuple((str(name), block.node(name)) for name in block.obj)
