"""CelebA-format probe sets: the loader real CelebA users use (file readers in celeba_files)."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from sia_audit.probes.celeba_files import (
    ATTR_FILE,
    CONTINUOUS_FILE,
    IMAGE_DIR,
    LANDMARK_FILE,
    LANDMARK_HEADER,
    N_LANDMARKS,
    PARTITION_FILE,
    SPLIT_NAMES,
    SPLITS,
    Table,
    canonical_split,
    check_attr_names,
    fail,
    parse_binary,
    parse_floats,
    read_partition,
    read_table,
)
from sia_audit.probes.celeba_images import Preprocess, decode, source_size, transform_points

# Bumped whenever what manifest_sha256 covers changes, so old and new fingerprints never collide.
_MANIFEST_VERSION = "sia-audit/celeba-probes/1"
DEFAULT_PREPROCESS = Preprocess()  # frozen, so one shared default is safe


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
        preprocess: Preprocess = DEFAULT_PREPROCESS,
        image_dir: str = IMAGE_DIR,
    ) -> None:
        if isinstance(attr_names, str):
            raise TypeError("attr_names must be a sequence of names, not one string")
        self.root = Path(root)
        self.attr_names: tuple[str, ...] = check_attr_names(attr_names)
        self.split = split
        self.first_n = first_n
        self.preprocess = preprocess
        self.image_dir = self.root / image_dir
        attr_path = self.root / ATTR_FILE
        split_id = canonical_split(split, self.root / PARTITION_FILE)
        self._split_id = split_id
        if first_n is not None and (
            isinstance(first_n, bool) or not isinstance(first_n, int) or first_n <= 0
        ):
            fail(
                attr_path,
                None,
                f"first_n must be a positive number of images, got {first_n!r}",
                "ask for at least 1 image or leave first_n unset for all",
            )
        if not attr_path.is_file():
            fail(
                attr_path,
                None,
                "attribute file not found",
                f"point the probe set at a CelebA-format folder holding {ATTR_FILE}",
            )
        if not self.image_dir.is_dir():
            fail(
                self.image_dir,
                None,
                "image folder not found",
                f"put the images in {image_dir}/ next to {ATTR_FILE}",
            )

        table = read_table(attr_path, "attribute names")
        columns = self._columns(attr_path, table)
        binary = parse_binary(attr_path, table)
        values = self._attribute_values(table, binary)

        selected = self._select(table, split_id)
        self.names: tuple[str, ...] = tuple(table.names[i] for i in selected)
        self.attrs: torch.Tensor = torch.from_numpy(
            np.ascontiguousarray(values[np.ix_(selected, columns)], dtype=np.float32)
        )
        self._check_images_exist(attr_path, table, selected)
        self.source_size: tuple[int, int] = source_size(
            [self.image_dir / n for n in self.names]
        )  # (width, height)
        self._check_crop_fits()
        self.landmarks: torch.Tensor | None = self._read_landmarks()

    # -- attribute file ------------------------------------------------------------------------

    def _columns(self, path: Path, table: Table) -> list[int]:
        index = {name: j for j, name in enumerate(table.header)}
        missing = [name for name in self.attr_names if name not in index]
        if missing:
            fail(
                path,
                table.header_line,
                f"attributes {missing} are missing from the header (the file has "
                f"{list(table.header)})",
                "use a generator whose attributes this probe set labels, or add the columns",
            )
        return [index[name] for name in self.attr_names]

    def _attribute_values(self, table: Table, binary: np.ndarray) -> np.ndarray:
        """Continuous values from the side file when present, else (v+1)/2 of the -1/1 file."""
        path = self.root / CONTINUOUS_FILE
        if not path.exists():
            return (binary.astype(np.float64) + 1.0) / 2.0
        side = read_table(path, "attribute names")
        if side.header != table.header:
            fail(
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
            fail(
                path,
                line,
                f"row {i + 1} names {got} where {ATTR_FILE} has {want}",
                "list the same images in the same order in both files (or delete the side file)",
            )
        out = np.empty(binary.shape, dtype=np.float64)
        for i in range(len(side.names)):
            vals = side.values(i)
            row = parse_floats(path, side.lines[i], side.names[i], side.header, vals, unit=True)
            disagree = (row >= 0.5) != (binary[i] == 1)
            if disagree.any():
                j = int(np.argmax(disagree))
                fail(
                    path,
                    side.lines[i],
                    f"attribute {side.header[j]!r} of {side.names[i]!r} is "
                    f"{vals[j]} but {ATTR_FILE} line {table.lines[i]} says {int(binary[i, j])}",
                    "regenerate both files together (1 exactly when the value is >= 0.5)",
                )
            out[i] = row
        return out

    # -- selection -------------------------------------------------------------------------------

    def _select(self, table: Table, split_id: int | None) -> list[int]:
        rows = list(range(len(table.names)))
        where = self.root / ATTR_FILE
        if split_id is not None:
            where = self.root / PARTITION_FILE
            part = read_partition(where)
            absent = [name for name in table.names if name not in part]
            if absent:
                fail(
                    where,
                    None,
                    f"{len(absent)} images of {ATTR_FILE} have no split, the first "
                    f"is {absent[0]!r}",
                    f"give every image a row 'NAME 0|1|2' in {PARTITION_FILE}",
                )
            rows = [i for i in rows if part[table.names[i]] == split_id]
        what = "the file" if split_id is None else f"split {SPLIT_NAMES[split_id]!r}"
        if self.first_n is not None:
            if self.first_n > len(rows):
                fail(
                    where,
                    None,
                    f"first_n is {self.first_n} but {what} has only {len(rows)} images",
                    f"ask for at most {len(rows)}",
                )
            rows = rows[: self.first_n]
        if not rows:
            # An empty probe set would let every gate pass vacuously.
            fail(where, None, f"{what} selects no images", "choose a split that has images")
        return rows

    # -- images ------------------------------------------------------------------------------------

    def _check_images_exist(self, attr_path: Path, table: Table, selected: list[int]) -> None:
        missing = [i for i in selected if not (self.image_dir / table.names[i]).is_file()]
        if missing:
            first = missing[0]
            fail(
                self.image_dir / table.names[first],
                None,
                f"image listed on line {table.lines[first]} of {attr_path.name} is missing "
                f"({len(missing)} of the {len(selected)} selected images are missing)",
                "restore the images or regenerate the probe set",
            )

    def _check_crop_fits(self) -> None:
        crop = self.preprocess.center_crop
        w, h = self.source_size
        if crop is not None and (crop > w or crop > h):
            # torchvision would pad with black; that silently changes the probes, so refuse.
            fail(
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

    def load_images(self, indices: Sequence[int]) -> torch.Tensor:
        """Decode and preprocess the given rows of the selection: (B, 3, H, W) float32 in [0, 1]."""
        n = len(self.names)
        for i in indices:
            if isinstance(i, bool) or not 0 <= int(i) < n:
                raise IndexError(f"probe index {i} out of range for {n} probes")
        if len(indices) == 0:
            return torch.empty((0, 3, *self.output_size), dtype=torch.float32)
        return torch.stack(
            [
                decode(self.image_dir / self.names[int(i)], self.preprocess, self.source_size)
                for i in indices
            ]
        )

    # -- landmarks -------------------------------------------------------------------------------

    def _read_landmarks(self) -> torch.Tensor | None:
        path = self.root / LANDMARK_FILE
        if not path.exists():
            return None
        table = read_table(path, "landmark coordinates")
        if table.header != LANDMARK_HEADER:
            fail(
                path,
                table.header_line,
                f"header must be x0 y0 ... x{N_LANDMARKS - 1} y{N_LANDMARKS - 1} "
                f"({2 * N_LANDMARKS} columns), got {len(table.header)} columns",
                "regenerate the landmark file",
            )
        where = {name: i for i, name in enumerate(table.names)}
        absent = [name for name in self.names if name not in where]
        if absent:
            fail(
                path,
                None,
                f"{len(absent)} selected images have no landmarks, the first is {absent[0]!r}",
                "add their rows or remove the landmark file",
            )
        raw = np.empty((len(self.names), N_LANDMARKS, 2), dtype=np.float64)
        for k, name in enumerate(self.names):
            i = where[name]
            row = parse_floats(
                path, table.lines[i], name, table.header, table.values(i), unit=False
            )
            raw[k] = row.reshape(N_LANDMARKS, 2)
        return torch.from_numpy(
            transform_points(raw, self.source_size, self.preprocess).astype(np.float32)
        )

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
            "split": None if self._split_id is None else SPLIT_NAMES[self._split_id],
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
