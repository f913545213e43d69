"""The CelebA file layout: names of its files, and strict readers of its text tables.

Every reader fails with one DataError line naming the file, the line, the problem and the fix.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import numpy as np

from sia_audit.errors import DataError

IMAGE_DIR = "img_align_celeba"
ATTR_FILE = "list_attr_celeba.txt"
CONTINUOUS_FILE = "list_attr_continuous.txt"
PARTITION_FILE = "list_eval_partition.txt"
LANDMARK_FILE = "list_landmarks_68.txt"

N_LANDMARKS = 68
LANDMARK_HEADER: tuple[str, ...] = tuple(
    f"{axis}{i}" for i in range(N_LANDMARKS) for axis in ("x", "y")
)
SPLITS: dict[str, int] = {"train": 0, "val": 1, "test": 2}
SPLIT_NAMES = {v: k for k, v in SPLITS.items()}

COUNT_RE = re.compile(r"[0-9]+")
# Path separators of any OS, a Windows drive colon ("C:x.png"), NUL and other control characters.
BAD_NAME_CHARS = re.compile(r"[/\\:\x00-\x1f]")
# Exactly the 6-digit scheme of real CelebA, so our exports sort and look the same.
NAME_DIGITS = 6


def fail(path: Path, line: int | None, problem: str, fix: str) -> NoReturn:
    """Raise the one-line DataError every bad-input path uses: file[:line]: problem; fix."""
    where = f"{path}:{line}" if line is not None else f"{path}"
    message = f"{where}: {problem}; {fix}"
    # Paths or names may hold line breaks; the CLI contract is one line, so escape them.
    message = message.replace("\r", "\\r").replace("\n", "\\n")
    raise DataError(message)


def check_attr_names(attr_names: Sequence[str]) -> tuple[str, ...]:
    names = tuple(attr_names)
    if not names:
        raise ValueError("attr_names is empty; give at least one attribute name")
    for name in names:
        if not isinstance(name, str) or not name or len(name.split()) != 1 or name != name.strip():
            raise ValueError(f"attribute name {name!r} must be a non-empty string without spaces")
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"attr_names lists {dupes} more than once")
    return names


def read_lines(path: Path) -> list[tuple[int, str]]:
    """The non-blank lines of a text file as (1-based line number, line)."""
    try:
        # utf-8-sig: tolerate a byte-order mark left by Windows editors.
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        fail(
            path,
            None,
            f"not UTF-8 text ({exc.reason} at byte {exc.start})",
            "save it as plain UTF-8/ASCII text",
        )
    except OSError as exc:
        fail(path, None, f"cannot be read ({exc.strerror})", "check the file and its permissions")
    # Split on "\n" only (not str.splitlines) so line numbers match what an editor shows.
    return [(n, line) for n, line in enumerate(text.split("\n"), start=1) if line.strip()]


def check_image_name(path: Path, line: int, name: str) -> None:
    """Refuse names that would read outside the image folder (or are not plain file names)."""
    if name in (".", "..") or BAD_NAME_CHARS.search(name):
        fail(
            path,
            line,
            f"image name {name!r} escapes the image folder or is not a plain file name",
            "list plain file names (e.g. 000001.jpg) relative to the image folder",
        )


@dataclass(frozen=True)
class Table:
    """A parsed attribute-style file: count line, header, then NAME v1..vK rows."""

    header: tuple[str, ...]
    header_line: int
    names: list[str]
    lines: list[int]
    # Raw row text, split again on use: a list of field lists for the 200k rows of real CelebA
    # would cost hundreds of MB of small strings.
    raw: list[str]

    def values(self, i: int) -> list[str]:
        return self.raw[i].split()[1:]


def read_table(path: Path, what: str) -> Table:
    rows = read_lines(path)
    if not rows:
        fail(
            path,
            None,
            f"is empty, expected a count line and a header of {what}",
            "regenerate the file in CelebA format",
        )
    count_line, count_fields = rows[0][0], rows[0][1].split()
    if len(count_fields) != 1 or not COUNT_RE.fullmatch(count_fields[0]):
        fail(
            path,
            count_line,
            f"first line must be the number of images, got {' '.join(count_fields)!r}",
            "put the image count alone on line 1",
        )
    if len(rows) < 2:
        fail(path, None, f"has no header line of {what}", f"put the {what} on line 2")
    header_line, header = rows[1][0], rows[1][1].split()
    if len(set(header)) != len(header):
        dupes = sorted({h for h in header if header.count(h) > 1})
        fail(
            path, header_line, f"header lists {dupes} more than once", "keep each column name once"
        )
    names: list[str] = []
    lines: list[int] = []
    raw: list[str] = []
    seen: dict[str, int] = {}
    width = 1 + len(header)
    for number, line in rows[2:]:
        fields = line.split()
        if len(fields) != width:
            fail(
                path,
                number,
                f"row has {len(fields) - 1} values, the header has {len(header)} columns",
                f"give each row an image name and {len(header)} values",
            )
        name = fields[0]
        check_image_name(path, number, name)
        if name in seen:
            fail(
                path,
                number,
                f"image {name!r} is listed again (first on line {seen[name]})",
                "list each image once",
            )
        seen[name] = number
        names.append(name)
        lines.append(number)
        raw.append(line)
    declared = int(count_fields[0])
    if declared != len(names):
        fail(
            path,
            count_line,
            f"count line says {declared} images but the file has {len(names)} rows",
            f"set line 1 to {len(names)} or restore the missing rows",
        )
    return Table(tuple(header), header_line, names, lines, raw)


def parse_binary(path: Path, table: Table) -> np.ndarray:
    """-1/1 values -> int8 array; any other token is an error naming row and column."""
    out = np.empty((len(table.names), len(table.header)), dtype=np.int8)
    allowed = {"-1", "1"}
    for i in range(len(table.names)):
        vals = table.values(i)
        if not allowed.issuperset(vals):
            j = next(j for j, v in enumerate(vals) if v not in allowed)
            fail(
                path,
                table.lines[i],
                f"attribute {table.header[j]!r} of {table.names[i]!r} is "
                f"{vals[j]!r}, expected -1 or 1",
                "use -1 (absent) or 1 (present)",
            )
        out[i] = [1 if v == "1" else -1 for v in vals]
    return out


def parse_floats(
    path: Path, line: int, name: str, header: Sequence[str], vals: Sequence[str], *, unit: bool
) -> np.ndarray:
    """Parse one row of numbers; `unit` also requires each value in [0, 1]."""
    try:
        arr = np.array([float(v) for v in vals], dtype=np.float64)
    except ValueError:
        j = next(j for j, v in enumerate(vals) if not is_float(v))
        fail(
            path,
            line,
            f"value {vals[j]!r} of {header[j]!r} for {name!r} is not a number",
            "write plain decimal numbers",
        )
    bad = ~np.isfinite(arr)
    if unit:
        bad |= (arr < 0) | (arr > 1)
    if bad.any():
        j = int(np.argmax(bad))
        expected = "a number in [0, 1]" if unit else "a finite number"
        fail(
            path,
            line,
            f"value {vals[j]} of {header[j]!r} for {name!r} is not {expected}",
            f"write {expected}",
        )
    return arr


def is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def canonical_split(split: str | int | None, path: Path) -> int | None:
    if split is None:
        return None
    if isinstance(split, str) and split in SPLITS:
        return SPLITS[split]
    if isinstance(split, int) and not isinstance(split, bool) and split in SPLIT_NAMES:
        return split
    fail(path, None, f"unknown split {split!r}", "use train, val, test (or 0, 1, 2)")


def read_partition(path: Path) -> dict[str, int]:
    """list_eval_partition.txt as image name -> split id (0 train, 1 val, 2 test)."""
    if not path.is_file():
        fail(
            path,
            None,
            "partition file not found, but a split was asked for",
            f"add {PARTITION_FILE} (rows 'NAME 0|1|2') or leave split unset",
        )
    part: dict[str, int] = {}
    for number, line in read_lines(path):
        fields = line.split()
        if len(fields) != 2 or fields[1] not in ("0", "1", "2"):
            fail(
                path,
                number,
                f"expected 'NAME SPLIT' with SPLIT 0, 1 or 2, got {' '.join(fields)!r}",
                "fix the row",
            )
        if fields[0] in part:
            fail(path, number, f"image {fields[0]!r} is listed again", "list each image once")
        part[fields[0]] = int(fields[1])
    return part
