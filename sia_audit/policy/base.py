"""What every policy section shares: strict models, '1.5/255' units, lists of distinct names."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

_FRACTION = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*/\s*([0-9]*\.?[0-9]+)\s*$")


def pixel_units(value: object) -> object:
    """Accept '1.5/255' as well as 0.00588: epsilons are usually written in grey levels."""
    if isinstance(value, str):
        m = _FRACTION.match(value)
        if m is None:
            raise ValueError(f"{value!r} is neither a number nor a fraction like 1.5/255")
        denominator = float(m.group(2))
        if denominator == 0:
            raise ValueError(f"{value!r} divides by zero; write a fraction like 1.5/255")
        return float(m.group(1)) / denominator
    return value


def unique(value: object) -> object:
    """A list of names is a set: a name given twice is a typo or a copy-paste slip, not a wish."""
    if isinstance(value, tuple | list):
        seen: set[object] = set()
        twice = [v for v in value if v in seen or seen.add(v)]  # type: ignore[func-returns-value]
        if twice:
            raise ValueError(f"lists {twice[0]!r} twice; give each name once")
    return value


def attribute_list(value: object) -> object:
    """A gate's `attributes`: `all`, `protected`, or a non-empty list of distinct names. An
    empty list would make the gate check nothing and pass: a silent pass, so it is refused."""
    if isinstance(value, tuple | list) and not value:
        raise ValueError(
            "lists no attribute, so the gate would check nothing; name some, or write all or "
            "protected"
        )
    return unique(value)


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
