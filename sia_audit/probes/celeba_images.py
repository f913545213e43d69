"""CelebA-format images: strict decoding, AttGAN-PyTorch's preprocessing, and the same
transform applied to landmark coordinates."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageFile, UnidentifiedImageError

from sia_audit.probes.celeba_files import fail

_UNREADABLE = (OSError, SyntaxError, ValueError, Image.DecompressionBombError)


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


def image_error(exc: BaseException) -> str:
    """A short reason for an image PIL cannot open or decode (its own text repeats the path)."""
    if isinstance(exc, UnidentifiedImageError):
        return "not an image format PIL can read"
    return str(exc) or type(exc).__name__


def source_size(paths: Sequence[Path]) -> tuple[int, int]:
    """The one (width, height) of the images, read from headers only."""
    size: tuple[int, int] | None = None
    first = ""
    for path in paths:
        try:
            with Image.open(path) as im:
                this = im.size
        except _UNREADABLE as exc:
            fail(
                path,
                None,
                f"not a readable image ({image_error(exc)})",
                "replace the file with a valid PNG or JPEG",
            )
        if size is None:
            size, first = this, path.name
        elif this != size:
            fail(
                path,
                None,
                f"image is {this[0]}x{this[1]} but {first} is {size[0]}x{size[1]}",
                "use images of one size in a probe set",
            )
    assert size is not None, "no images"  # a selection is never empty
    return size


def decode(path: Path, preprocess: Preprocess, size: tuple[int, int]) -> torch.Tensor:
    """One image, decoded strictly and preprocessed: (3, H, W) float32 in [0, 1]."""
    try:
        with _strict_decoding(), Image.open(path) as im:
            img = im.convert("RGB")  # convert forces the full decode inside the try
    except _UNREADABLE as exc:
        fail(
            path,
            None,
            f"image cannot be decoded ({image_error(exc)})",
            "replace the file with a valid PNG or JPEG",
        )
    if img.size != size:
        fail(
            path,
            None,
            f"image is {img.size[0]}x{img.size[1]} but the set was {size[0]}x{size[1]} when opened",
            "do not change a probe set while it is in use",
        )
    # torchvision.transforms imports torchvision's model zoo and torch._dynamo (over a second):
    # only a run that reads image files pays for it, not every command's start.
    from torchvision.transforms import InterpolationMode
    from torchvision.transforms import functional as tvf

    if preprocess.center_crop is not None:
        img = tvf.center_crop(img, [preprocess.center_crop, preprocess.center_crop])
    if preprocess.size is not None:
        img = tvf.resize(
            img, [preprocess.size, preprocess.size], InterpolationMode.BILINEAR, antialias=True
        )
    return tvf.pil_to_tensor(img).to(torch.float32).div(255)


def transform_points(xy: np.ndarray, size: tuple[int, int], preprocess: Preprocess) -> np.ndarray:
    """Map source pixel coordinates (corner origin) through the same crop and resize."""
    w, h = size
    crop, out_size = preprocess.center_crop, preprocess.size
    out = xy.copy()
    if crop is not None:
        # The exact offsets torchvision's center_crop uses (Python round, half to even).
        out[..., 0] -= round((w - crop) / 2.0)
        out[..., 1] -= round((h - crop) / 2.0)
        w = h = crop
    if out_size is not None:
        # PIL resizes with pixel-area alignment, so corner-origin coordinates scale exactly.
        out[..., 0] *= out_size / w
        out[..., 1] *= out_size / h
    return out
