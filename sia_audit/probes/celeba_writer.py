"""Write CelebA-format folders (used by the synthfaces export and by test fixtures)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Self

import numpy as np
from PIL import Image

from sia_audit.errors import OutputError
from sia_audit.fsutil import atomic_write_text
from sia_audit.probes.celeba_files import (
    ATTR_FILE,
    CONTINUOUS_FILE,
    IMAGE_DIR,
    LANDMARK_FILE,
    LANDMARK_HEADER,
    N_LANDMARKS,
    NAME_DIGITS,
    PARTITION_FILE,
    check_attr_names,
)


def _png_bytes(image: np.ndarray) -> bytes:
    """Encode one HxWx3 uint8 image as PNG with fixed options (no metadata, so no timestamps)."""
    buf = io.BytesIO()
    # HxWx3 uint8 is inferred as RGB (Pillow deprecates passing the mode).
    Image.fromarray(np.ascontiguousarray(image)).save(
        buf, format="PNG", compress_level=6, optimize=False
    )
    return buf.getvalue()


class CelebAWriter:
    """Fills a folder (normally the temporary folder yielded by fsutil.atomic_dir) incrementally.

    Images are written as they come; the text files are written by `close()`. Continuous
    attributes and landmarks are stored with `%.3f`: callers who need an exact round trip
    quantise them to multiples of 1/1000 first (the synthfaces sampler does). The -1/1 file is
    binarised from the *stored* (rounded) value, so the two attribute files always agree.
    """

    def __init__(
        self, root: Path, attr_names: Sequence[str], *, with_landmarks: bool = True
    ) -> None:
        self.root = Path(root)
        self.attr_names = check_attr_names(attr_names)
        self.with_landmarks = with_landmarks
        self._image_dir = self.root / IMAGE_DIR
        if self._image_dir.exists() and (
            not self._image_dir.is_dir() or any(self._image_dir.iterdir())
        ):
            raise OutputError(
                f"{self._image_dir} already holds files; write a CelebA export into a new folder"
            )
        self._image_dir.mkdir(parents=True, exist_ok=True)
        self._names: list[str] = []
        self._attr_rows: list[str] = []
        self._binary_rows: list[str] = []
        self._partition_rows: list[str] = []
        self._landmark_rows: list[str] = []
        self._hw: tuple[int, int] | None = None
        self._closed = False

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        # Only a complete export gets its text files; on error atomic_dir discards the folder.
        if exc_type is None:
            self.close()

    def add(
        self,
        images: np.ndarray,
        attrs: np.ndarray,
        partition: np.ndarray,
        landmarks: np.ndarray | None = None,
    ) -> list[str]:
        """Write a batch of images; returns the file names given to them, in order."""
        if self._closed:
            raise ValueError("CelebAWriter.add called after close()")
        images, attrs, partition, landmarks = self._check_batch(images, attrs, partition, landmarks)
        written: list[str] = []
        for b in range(images.shape[0]):
            index = len(self._names) + 1
            if index >= 10**NAME_DIGITS:
                raise ValueError(f"a CelebA export holds at most {10**NAME_DIGITS - 1} images")
            name = f"{index:0{NAME_DIGITS}d}.png"
            (self._image_dir / name).write_bytes(_png_bytes(images[b]))
            # "+ 0.0" turns -0.0 into 0.0 so the file never shows "-0.000".
            cont = [f"{float(v) + 0.0:.3f}" for v in attrs[b]]
            self._attr_rows.append(" ".join([name, *cont]))
            # CelebA's own layout: each value right-aligned in two characters ("-1  1  1 -1").
            self._binary_rows.append(
                " ".join([name, *(f"{1 if float(c) >= 0.5 else -1:2d}" for c in cont)])
            )
            self._partition_rows.append(f"{name} {int(partition[b])}")
            if landmarks is not None:
                coords = landmarks[b].reshape(-1)
                self._landmark_rows.append(
                    " ".join([name, *(f"{float(v) + 0.0:.3f}" for v in coords)])
                )
            self._names.append(name)
            written.append(name)
        return written

    def _check_batch(
        self,
        images: np.ndarray,
        attrs: np.ndarray,
        partition: np.ndarray,
        landmarks: np.ndarray | None,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
        images = np.asarray(images)
        attrs = np.asarray(attrs)
        partition = np.asarray(partition)
        if images.dtype != np.uint8 or images.ndim != 4 or images.shape[3] != 3:
            raise ValueError(
                f"images must be uint8 of shape (B,H,W,3), got {images.dtype} {images.shape}"
            )
        n, k = images.shape[0], len(self.attr_names)
        if images.shape[1] < 1 or images.shape[2] < 1:
            raise ValueError(f"images must have a positive height and width, got {images.shape}")
        if self._hw is not None and images.shape[1:3] != self._hw:
            # The loader requires one size per set; catch a mismatch where it is made.
            raise ValueError(f"images are {images.shape[1:3]}, earlier batches were {self._hw}")
        if not np.issubdtype(attrs.dtype, np.floating) or attrs.shape != (n, k):
            raise ValueError(
                f"attrs must be float of shape ({n}, {k}), got {attrs.dtype} {attrs.shape}"
            )
        if not np.all(np.isfinite(attrs)) or np.any(attrs < 0) or np.any(attrs > 1):
            raise ValueError("attrs must be finite and in [0, 1]")
        if not np.issubdtype(partition.dtype, np.integer) or partition.shape != (n,):
            raise ValueError(
                f"partition must be integer of shape ({n},), "
                f"got {partition.dtype} {partition.shape}"
            )
        if np.any((partition < 0) | (partition > 2)):
            raise ValueError("partition values must be 0 (train), 1 (val) or 2 (test)")
        if self.with_landmarks:
            if landmarks is None:
                raise ValueError("landmarks are required: this writer was made with_landmarks=True")
            landmarks = np.asarray(landmarks)
            if not np.issubdtype(landmarks.dtype, np.floating) or landmarks.shape != (
                n,
                N_LANDMARKS,
                2,
            ):
                raise ValueError(
                    f"landmarks must be float of shape ({n}, {N_LANDMARKS}, 2), "
                    f"got {landmarks.dtype} {landmarks.shape}"
                )
            if not np.all(np.isfinite(landmarks)):
                raise ValueError("landmarks must be finite")
        elif landmarks is not None:
            raise ValueError("landmarks given but this writer was made with_landmarks=False")
        if n:
            self._hw = (images.shape[1], images.shape[2])
        return images, attrs, partition, landmarks

    def close(self) -> None:
        """Write the attribute, partition and landmark files. A second call does nothing."""
        if self._closed:
            return
        count = str(len(self._names))
        header = " ".join(self.attr_names)
        atomic_write_text(self.root / ATTR_FILE, _lines([count, header, *self._binary_rows]))
        atomic_write_text(self.root / CONTINUOUS_FILE, _lines([count, header, *self._attr_rows]))
        atomic_write_text(self.root / PARTITION_FILE, _lines(self._partition_rows))
        if self.with_landmarks:
            atomic_write_text(
                self.root / LANDMARK_FILE,
                _lines([count, " ".join(LANDMARK_HEADER), *self._landmark_rows]),
            )
        self._closed = True


def _lines(rows: Sequence[str]) -> str:
    return "".join(row + "\n" for row in rows)
