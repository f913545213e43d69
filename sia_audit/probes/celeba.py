"""CelebA-format probe sets: the file layout and the loader real CelebA users use."""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import numpy as np
import torch
from PIL import Image, ImageFile, UnidentifiedImageError
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as tvf

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
_SPLIT_NAMES = {v: k for k, v in SPLITS.items()}

# Bumped whenever what manifest_sha256 covers changes, so old and new fingerprints never collide.
_MANIFEST_VERSION = "sia-audit/celeba-probes/1"
_COUNT_RE = re.compile(r"[0-9]+")
# Path separators of any OS, a Windows drive colon ("C:x.png"), NUL and other control characters.
_BAD_NAME_CHARS = re.compile(r"[/\\:\x00-\x1f]")
# Exactly the 6-digit scheme of real CelebA, so our exports sort and look the same.
NAME_DIGITS = 6


@contextlib.contextmanager
def _strict_decoding() -> Iterator[None]:
    """Refuse truncated images whatever a library set globally.

    WeasyPrint sets PIL's ImageFile.LOAD_TRUNCATED_IMAGES = True when it is imported, which
    would make a cut-off probe image decode silently (with grey where its data is missing) in
    any process that also renders a PDF.
    """
    before = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        yield
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = before


def _fail(path: Path, line: int | None, problem: str, fix: str) -> NoReturn:
    """Raise the one-line DataError every bad-input path uses: file[:line]: problem; fix."""
    where = f"{path}:{line}" if line is not None else f"{path}"
    message = f"{where}: {problem}; {fix}"
    # Paths or names may hold line breaks; the CLI contract is one line, so escape them.
    message = message.replace("\r", "\\r").replace("\n", "\\n")
    raise DataError(message)


def _check_attr_names(attr_names: Sequence[str]) -> tuple[str, ...]:
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


@dataclass(frozen=True)
class Preprocess:
    """How stored images become model inputs (AttGAN-PyTorch's aligned-CelebA pipeline)."""

    center_crop: int | None = 170  # AttGAN-PyTorch's aligned-CelebA default; None = no crop
    size: int | None = 128  # square resize target; None = keep size

    def __post_init__(self) -> None:
        for field in ("center_crop", "size"):
            value = getattr(self, field)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1
            ):
                raise ValueError(
                    f"Preprocess.{field} must be a positive int or None, got {value!r}"
                )


def _read_lines(path: Path) -> list[tuple[int, str]]:
    """The non-blank lines of a text file as (1-based line number, line)."""
    try:
        # utf-8-sig: tolerate a byte-order mark left by Windows editors.
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        _fail(
            path,
            None,
            f"not UTF-8 text ({exc.reason} at byte {exc.start})",
            "save it as plain UTF-8/ASCII text",
        )
    except OSError as exc:
        _fail(path, None, f"cannot be read ({exc.strerror})", "check the file and its permissions")
    # Split on "\n" only (not str.splitlines) so line numbers match what an editor shows.
    return [(n, line) for n, line in enumerate(text.split("\n"), start=1) if line.strip()]


def _check_image_name(path: Path, line: int, name: str) -> None:
    """Refuse names that would read outside the image folder (or are not plain file names)."""
    if name in (".", "..") or _BAD_NAME_CHARS.search(name):
        _fail(
            path,
            line,
            f"image name {name!r} escapes the image folder or is not a plain file name",
            "list plain file names (e.g. 000001.jpg) relative to the image folder",
        )


@dataclass(frozen=True)
class _Table:
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


def _read_table(path: Path, what: str) -> _Table:
    rows = _read_lines(path)
    if not rows:
        _fail(
            path,
            None,
            f"is empty, expected a count line and a header of {what}",
            "regenerate the file in CelebA format",
        )
    count_line, count_fields = rows[0][0], rows[0][1].split()
    if len(count_fields) != 1 or not _COUNT_RE.fullmatch(count_fields[0]):
        _fail(
            path,
            count_line,
            f"first line must be the number of images, got {' '.join(count_fields)!r}",
            "put the image count alone on line 1",
        )
    if len(rows) < 2:
        _fail(path, None, f"has no header line of {what}", f"put the {what} on line 2")
    header_line, header = rows[1][0], rows[1][1].split()
    if len(set(header)) != len(header):
        dupes = sorted({h for h in header if header.count(h) > 1})
        _fail(
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
            _fail(
                path,
                number,
                f"row has {len(fields) - 1} values, the header has {len(header)} columns",
                f"give each row an image name and {len(header)} values",
            )
        name = fields[0]
        _check_image_name(path, number, name)
        if name in seen:
            _fail(
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
        _fail(
            path,
            count_line,
            f"count line says {declared} images but the file has {len(names)} rows",
            f"set line 1 to {len(names)} or restore the missing rows",
        )
    return _Table(tuple(header), header_line, names, lines, raw)


def _parse_binary(path: Path, table: _Table) -> np.ndarray:
    """-1/1 values -> int8 array; any other token is an error naming row and column."""
    out = np.empty((len(table.names), len(table.header)), dtype=np.int8)
    allowed = {"-1", "1"}
    for i in range(len(table.names)):
        vals = table.values(i)
        if not allowed.issuperset(vals):
            j = next(j for j, v in enumerate(vals) if v not in allowed)
            _fail(
                path,
                table.lines[i],
                f"attribute {table.header[j]!r} of {table.names[i]!r} is "
                f"{vals[j]!r}, expected -1 or 1",
                "use -1 (absent) or 1 (present)",
            )
        out[i] = [1 if v == "1" else -1 for v in vals]
    return out


def _parse_floats(
    path: Path, line: int, name: str, header: Sequence[str], vals: Sequence[str], *, unit: bool
) -> np.ndarray:
    """Parse one row of numbers; `unit` also requires each value in [0, 1]."""
    try:
        arr = np.array([float(v) for v in vals], dtype=np.float64)
    except ValueError:
        j = next(j for j, v in enumerate(vals) if not _is_float(v))
        _fail(
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
        _fail(
            path,
            line,
            f"value {vals[j]} of {header[j]!r} for {name!r} is not {expected}",
            f"write {expected}",
        )
    return arr


def _is_float(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _image_error(exc: BaseException) -> str:
    """A short reason for an image PIL cannot open or decode (its own text repeats the path)."""
    if isinstance(exc, UnidentifiedImageError):
        return "not an image format PIL can read"
    return str(exc) or type(exc).__name__


def _canonical_split(split: str | int | None, path: Path) -> int | None:
    if split is None:
        return None
    if isinstance(split, str) and split in SPLITS:
        return SPLITS[split]
    if isinstance(split, int) and not isinstance(split, bool) and split in _SPLIT_NAMES:
        return split
    _fail(path, None, f"unknown split {split!r}", "use train, val, test (or 0, 1, 2)")


class CelebAProbes:
    """A probe set in CelebA format: names, attributes and landmarks eagerly, images on demand.

    Everything that can be checked without decoding an image is checked here, so a bad probe
    set fails before an audit spends time; images are decoded only in `load_images`.
    """

    def __init__(
        self,
        root: Path,
        attr_names: Sequence[str],
        *,
        split: str | int | None = None,
        first_n: int | None = None,
        preprocess: Preprocess = Preprocess(),  # frozen, so one shared default is safe
        image_dir: str = IMAGE_DIR,
    ) -> None:
        if isinstance(attr_names, str):
            raise TypeError("attr_names must be a sequence of names, not one string")
        self.root = Path(root)
        self.attr_names: tuple[str, ...] = _check_attr_names(attr_names)
        self.split = split
        self.first_n = first_n
        self.preprocess = preprocess
        self.image_dir = self.root / image_dir
        attr_path = self.root / ATTR_FILE
        split_id = _canonical_split(split, self.root / PARTITION_FILE)
        self._split_id = split_id
        if first_n is not None and (
            isinstance(first_n, bool) or not isinstance(first_n, int) or first_n <= 0
        ):
            _fail(
                attr_path,
                None,
                f"first_n must be a positive number of images, got {first_n!r}",
                "ask for at least 1 image or leave first_n unset for all",
            )
        if not attr_path.is_file():
            _fail(
                attr_path,
                None,
                "attribute file not found",
                f"point the probe set at a CelebA-format folder holding {ATTR_FILE}",
            )
        if not self.image_dir.is_dir():
            _fail(
                self.image_dir,
                None,
                "image folder not found",
                f"put the images in {image_dir}/ next to {ATTR_FILE}",
            )

        table = _read_table(attr_path, "attribute names")
        columns = self._columns(attr_path, table)
        binary = _parse_binary(attr_path, table)
        values = self._attribute_values(table, binary)

        selected = self._select(table, split_id)
        self.names: tuple[str, ...] = tuple(table.names[i] for i in selected)
        self.attrs: torch.Tensor = torch.from_numpy(
            np.ascontiguousarray(values[np.ix_(selected, columns)], dtype=np.float32)
        )
        self._check_images_exist(attr_path, table, selected)
        self.source_size: tuple[int, int] = self._source_size()  # (width, height)
        self._check_crop_fits()
        self.landmarks: torch.Tensor | None = self._read_landmarks()

    # -- attribute file ------------------------------------------------------------------------

    def _columns(self, path: Path, table: _Table) -> list[int]:
        index = {name: j for j, name in enumerate(table.header)}
        missing = [name for name in self.attr_names if name not in index]
        if missing:
            _fail(
                path,
                table.header_line,
                f"attributes {missing} are missing from the header (the file has "
                f"{list(table.header)})",
                "use a generator whose attributes this probe set labels, or add the columns",
            )
        return [index[name] for name in self.attr_names]

    def _attribute_values(self, table: _Table, binary: np.ndarray) -> np.ndarray:
        """Continuous values from the side file when present, else (v+1)/2 of the -1/1 file."""
        path = self.root / CONTINUOUS_FILE
        if not path.exists():
            return (binary.astype(np.float64) + 1.0) / 2.0
        side = _read_table(path, "attribute names")
        if side.header != table.header:
            _fail(
                path,
                side.header_line,
                f"header differs from {ATTR_FILE}'s",
                "write both files with the same columns"
                " in the same order (or delete the side file)",
            )
        if side.names != table.names:
            i = next(
                (
                    i
                    for i, (a, b) in enumerate(zip(side.names, table.names, strict=False))
                    if a != b
                ),
                min(len(side.names), len(table.names)),
            )
            line = side.lines[i] if i < len(side.lines) else None
            got = repr(side.names[i]) if i < len(side.names) else "nothing"
            want = repr(table.names[i]) if i < len(table.names) else "nothing"
            _fail(
                path,
                line,
                f"row {i + 1} names {got} where {ATTR_FILE} has {want}",
                "list the same images in the same order in both files (or delete the side file)",
            )
        out = np.empty(binary.shape, dtype=np.float64)
        for i in range(len(side.names)):
            vals = side.values(i)
            row = _parse_floats(path, side.lines[i], side.names[i], side.header, vals, unit=True)
            disagree = (row >= 0.5) != (binary[i] == 1)
            if disagree.any():
                j = int(np.argmax(disagree))
                _fail(
                    path,
                    side.lines[i],
                    f"attribute {side.header[j]!r} of {side.names[i]!r} is "
                    f"{vals[j]} but {ATTR_FILE} line {table.lines[i]} says {int(binary[i, j])}",
                    "regenerate both files together (1 exactly when the value is >= 0.5)",
                )
            out[i] = row
        return out

    # -- selection -------------------------------------------------------------------------------

    def _select(self, table: _Table, split_id: int | None) -> list[int]:
        rows = list(range(len(table.names)))
        where = self.root / ATTR_FILE
        if split_id is not None:
            where = self.root / PARTITION_FILE
            part = self._read_partition(where)
            absent = [name for name in table.names if name not in part]
            if absent:
                _fail(
                    where,
                    None,
                    f"{len(absent)} images of {ATTR_FILE} have no split, the first "
                    f"is {absent[0]!r}",
                    f"give every image a row 'NAME 0|1|2' in {PARTITION_FILE}",
                )
            rows = [i for i in rows if part[table.names[i]] == split_id]
        what = "the file" if split_id is None else f"split {_SPLIT_NAMES[split_id]!r}"
        if self.first_n is not None:
            if self.first_n > len(rows):
                _fail(
                    where,
                    None,
                    f"first_n is {self.first_n} but {what} has only {len(rows)} images",
                    f"ask for at most {len(rows)}",
                )
            rows = rows[: self.first_n]
        if not rows:
            # An empty probe set would let every gate pass vacuously.
            _fail(where, None, f"{what} selects no images", "choose a split that has images")
        return rows

    @staticmethod
    def _read_partition(path: Path) -> dict[str, int]:
        if not path.is_file():
            _fail(
                path,
                None,
                "partition file not found, but a split was asked for",
                f"add {PARTITION_FILE} (rows 'NAME 0|1|2') or leave split unset",
            )
        part: dict[str, int] = {}
        for number, line in _read_lines(path):
            fields = line.split()
            if len(fields) != 2 or fields[1] not in ("0", "1", "2"):
                _fail(
                    path,
                    number,
                    f"expected 'NAME SPLIT' with SPLIT 0, 1 or 2, got {' '.join(fields)!r}",
                    "fix the row",
                )
            if fields[0] in part:
                _fail(path, number, f"image {fields[0]!r} is listed again", "list each image once")
            part[fields[0]] = int(fields[1])
        return part

    # -- images ------------------------------------------------------------------------------------

    def _check_images_exist(self, attr_path: Path, table: _Table, selected: list[int]) -> None:
        missing = [i for i in selected if not (self.image_dir / table.names[i]).is_file()]
        if missing:
            first = missing[0]
            _fail(
                self.image_dir / table.names[first],
                None,
                f"image listed on line {table.lines[first]} of {attr_path.name} is missing "
                f"({len(missing)} of the {len(selected)} selected images are missing)",
                "restore the images or regenerate the probe set",
            )

    def _source_size(self) -> tuple[int, int]:
        """The one (width, height) of the selected images, read from headers only."""
        size: tuple[int, int] | None = None
        first = ""
        for name in self.names:
            path = self.image_dir / name
            try:
                with Image.open(path) as im:
                    this = im.size
            except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
                _fail(
                    path,
                    None,
                    f"not a readable image ({_image_error(exc)})",
                    "replace the file with a valid PNG or JPEG",
                )
            if size is None:
                size, first = this, name
            elif this != size:
                _fail(
                    path,
                    None,
                    f"image is {this[0]}x{this[1]} but {first} is {size[0]}x{size[1]}",
                    "use images of one size in a probe set",
                )
        assert size is not None  # _select never returns an empty selection
        return size

    def _check_crop_fits(self) -> None:
        crop = self.preprocess.center_crop
        w, h = self.source_size
        if crop is not None and (crop > w or crop > h):
            # torchvision would pad with black; that silently changes the probes, so refuse.
            _fail(
                self.image_dir / self.names[0],
                None,
                f"center_crop {crop} is larger than the {w}x{h} images",
                f"use a center_crop of at most {min(w, h)} or none",
            )

    @property
    def output_size(self) -> tuple[int, int]:
        """(height, width) of the images `load_images` returns."""
        p = self.preprocess
        if p.size is not None:
            return (p.size, p.size)
        if p.center_crop is not None:
            return (p.center_crop, p.center_crop)
        return (self.source_size[1], self.source_size[0])

    def _preprocess(self, path: Path) -> torch.Tensor:
        try:
            with _strict_decoding(), Image.open(path) as im:
                img = im.convert("RGB")  # convert forces the full decode inside the try
        except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as exc:
            _fail(
                path,
                None,
                f"image cannot be decoded ({_image_error(exc)})",
                "replace the file with a valid PNG or JPEG",
            )
        if img.size != self.source_size:
            _fail(
                path,
                None,
                f"image is {img.size[0]}x{img.size[1]} but the set was "
                f"{self.source_size[0]}x{self.source_size[1]} when opened",
                "do not change a probe set while it is in use",
            )
        p = self.preprocess
        if p.center_crop is not None:
            img = tvf.center_crop(img, [p.center_crop, p.center_crop])
        if p.size is not None:
            img = tvf.resize(img, [p.size, p.size], InterpolationMode.BILINEAR, antialias=True)
        return tvf.pil_to_tensor(img).to(torch.float32).div(255)

    def load_images(self, indices: Sequence[int]) -> torch.Tensor:
        """Decode and preprocess the given rows of the selection: (B, 3, H, W) float32 in [0, 1]."""
        n = len(self.names)
        for i in indices:
            if isinstance(i, bool) or not 0 <= int(i) < n:
                raise IndexError(f"probe index {i} out of range for {n} probes")
        if len(indices) == 0:
            return torch.empty((0, 3, *self.output_size), dtype=torch.float32)
        return torch.stack([self._preprocess(self.image_dir / self.names[int(i)]) for i in indices])

    # -- landmarks -------------------------------------------------------------------------------

    def _read_landmarks(self) -> torch.Tensor | None:
        path = self.root / LANDMARK_FILE
        if not path.exists():
            return None
        table = _read_table(path, "landmark coordinates")
        if table.header != LANDMARK_HEADER:
            _fail(
                path,
                table.header_line,
                f"header must be x0 y0 ... x{N_LANDMARKS - 1} y{N_LANDMARKS - 1} "
                f"({2 * N_LANDMARKS} columns), got {len(table.header)} columns",
                "regenerate the landmark file",
            )
        where = {name: i for i, name in enumerate(table.names)}
        absent = [name for name in self.names if name not in where]
        if absent:
            _fail(
                path,
                None,
                f"{len(absent)} selected images have no landmarks, the first is {absent[0]!r}",
                "add their rows or remove the landmark file",
            )
        raw = np.empty((len(self.names), N_LANDMARKS, 2), dtype=np.float64)
        for k, name in enumerate(self.names):
            i = where[name]
            row = _parse_floats(
                path, table.lines[i], name, table.header, table.values(i), unit=False
            )
            raw[k] = row.reshape(N_LANDMARKS, 2)
        return torch.from_numpy(self._transform_points(raw).astype(np.float32))

    def _transform_points(self, xy: np.ndarray) -> np.ndarray:
        """Map source pixel coordinates (corner origin) through the same crop and resize."""
        w, h = self.source_size
        crop, size = self.preprocess.center_crop, self.preprocess.size
        out = xy.copy()
        if crop is not None:
            # The exact offsets torchvision's center_crop uses (Python round, half to even).
            out[..., 0] -= round((w - crop) / 2.0)
            out[..., 1] -= round((h - crop) / 2.0)
            w = h = crop
        if size is not None:
            # PIL resizes with pixel-area alignment, so corner-origin coordinates scale exactly.
            out[..., 0] *= size / w
            out[..., 1] *= size / h
        return out

    # -- provenance --------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.names)

    def __repr__(self) -> str:
        return (
            f"CelebAProbes(root={str(self.root)!r}, split={self.split!r}, "
            f"first_n={self.first_n!r}, n={len(self)}, preprocess={self.preprocess!r})"
        )

    def manifest_sha256(self) -> str:
        """A stable fingerprint of the probe set (selection, labels, landmarks, preprocessing).

        Image pixels are not hashed (that would mean reading every file); the names, the values
        and the preprocessing identify the set for report provenance and baseline checks.
        """
        meta = {
            "version": _MANIFEST_VERSION,
            "names": list(self.names),
            "attr_names": list(self.attr_names),
            "split": None if self._split_id is None else _SPLIT_NAMES[self._split_id],
            "preprocess": {
                "center_crop": self.preprocess.center_crop,
                "size": self.preprocess.size,
            },
            "landmarks": self.landmarks is not None,
        }
        h = hashlib.sha256()
        h.update(json.dumps(meta, sort_keys=True, ensure_ascii=True).encode("ascii"))
        h.update(self.attrs.numpy().astype("<f4").tobytes())
        if self.landmarks is not None:
            h.update(self.landmarks.numpy().astype("<f4").tobytes())
        return h.hexdigest()


__all__ = [
    "ATTR_FILE",
    "CONTINUOUS_FILE",
    "IMAGE_DIR",
    "LANDMARK_FILE",
    "PARTITION_FILE",
    "SPLITS",
    "CelebAProbes",
    "Preprocess",
]
