"""Write a synthfaces dataset in CelebA format, and read back the face parameters behind it.

Besides the CelebA files, an export holds `synthfaces.json` (how it was made) and
`list_synthfaces_params.txt` (each image's identity and nuisance vectors), so any edit of an
exported face can be re-rendered as ground truth. Everything is a function of the seed: the same
arguments give the same bytes.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from sia_audit import __version__
from sia_audit.errors import DataError, UsageError
from sia_audit.fsutil import atomic_dir
from sia_audit.probes.celeba_writer import CelebAWriter
from sia_audit.probes.synthfaces import SIZES
from sia_audit.probes.synthfaces.attributes import ATTRIBUTES
from sia_audit.probes.synthfaces.params import (
    IDENTITY_PARAMS,
    NUISANCE_PARAMS,
    RENDERER_VERSION,
    sample_unit,
)
from sia_audit.probes.synthfaces.renderer import render
from sia_audit.probes.synthfaces.sampler import AttributeSampler, Correlation

META_FILE = "synthfaces.json"
PARAMS_FILE = "list_synthfaces_params.txt"
SPLIT_FRACTIONS = (0.8, 0.1, 0.1)  # train / val / test, in contiguous blocks like CelebA
CHUNK = 256


@dataclass(frozen=True)
class SynthFaces:
    """A sampled synthetic face set (not yet rendered): all (N, .) tensors on the CPU."""

    identity: torch.Tensor
    nuisance: torch.Tensor
    on: torch.Tensor
    attrs: torch.Tensor
    partition: torch.Tensor


def sample_faces(count: int, seed: int, correlations: Sequence[Correlation] = ()) -> SynthFaces:
    """Draw `count` faces from `seed`; the draw order (identity, nuisance, attributes) is fixed."""
    g = torch.Generator().manual_seed(seed)
    identity = sample_unit(count, IDENTITY_PARAMS, g)
    nuisance = sample_unit(count, NUISANCE_PARAMS, g)
    on, attrs = AttributeSampler(correlations=tuple(correlations)).sample(count, g)
    return SynthFaces(identity, nuisance, on, attrs, partition_of(count))


def partition_of(count: int) -> torch.Tensor:
    """Split ids 0/1/2 for `count` images: the first 80% train, then 10% val, 10% test."""
    n_train = int(round(count * SPLIT_FRACTIONS[0]))
    n_val = int(round(count * SPLIT_FRACTIONS[1]))
    part = torch.full((count,), 2, dtype=torch.int64)
    part[:n_train] = 0
    part[n_train : n_train + n_val] = 1
    return part


def check_request(count: int, size: int) -> None:
    """Refuse a face count or image size the renderer does not offer."""
    if count < 1:
        raise UsageError(f"--count must be at least 1, got {count}")
    if size not in SIZES:
        raise UsageError(f"--size must be one of {', '.join(map(str, SIZES))}, got {size}")


def synthesize(
    out: Path,
    count: int,
    seed: int,
    *,
    size: int = 64,
    correlations: Sequence[Correlation] = (),
    progress: Callable[[int], None] | None = None,
) -> Path:
    """Render `count` faces into a new CelebA-format folder `out` (atomically)."""
    check_request(count, size)
    faces = sample_faces(count, seed, correlations)
    with atomic_dir(out) as tmp:
        with CelebAWriter(tmp, ATTRIBUTES, with_landmarks=True) as writer:
            names: list[str] = []
            for start in range(0, count, CHUNK):
                sl = slice(start, min(start + CHUNK, count))
                r = render(faces.identity[sl], faces.nuisance[sl], faces.attrs[sl], size)
                images = (r.images.permute(0, 2, 3, 1) * 255.0).round().to(torch.uint8).numpy()
                names += writer.add(
                    images,
                    faces.attrs[sl].numpy(),
                    faces.partition[sl].numpy(),
                    r.landmarks.numpy(),
                )
                if progress is not None:
                    progress(sl.stop - sl.start)
        _write_params(tmp / PARAMS_FILE, names, faces)
        meta = {
            "format": "synthfaces",
            "renderer_version": RENDERER_VERSION,
            "tool_version": __version__,
            "seed": seed,
            "count": count,
            "size": size,
            "correlations": [f"{c.cause}->{c.effect}@{c.p}" for c in correlations],
            "identity_params": list(IDENTITY_PARAMS),
            "nuisance_params": list(NUISANCE_PARAMS),
        }
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return Path(out)


def _write_params(path: Path, names: Sequence[str], faces: SynthFaces) -> None:
    # %.9g round-trips float32 exactly, so re-rendering from the file gives the same image.
    header = " ".join([*IDENTITY_PARAMS, *NUISANCE_PARAMS])
    rows = [str(len(names)), header]
    values = torch.cat([faces.identity, faces.nuisance], dim=1).numpy()
    for name, row in zip(names, values, strict=True):
        rows.append(" ".join([name, *(f"{float(v):.9g}" for v in row)]))
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")


def read_params(root: Path, names: Sequence[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """Identity and nuisance vectors of the named images of a synthfaces export."""
    path = Path(root) / PARAMS_FILE
    if not path.is_file():
        raise DataError(f"{path}: not found; only synthfaces exports carry face parameters")
    lines = path.read_text(encoding="utf-8").splitlines()
    expected = [*IDENTITY_PARAMS, *NUISANCE_PARAMS]
    if len(lines) < 2 or lines[1].split() != expected:
        raise DataError(
            f"{path}:2: header does not match this renderer's parameters; "
            "re-export the set with this version of sia-audit"
        )
    table: dict[str, np.ndarray] = {}
    for lineno, line in enumerate(lines[2:], start=3):
        fields = line.split()
        if len(fields) != 1 + len(expected):
            raise DataError(
                f"{path}:{lineno}: expected {1 + len(expected)} fields, got {len(fields)}; "
                "the file is damaged, re-export the set"
            )
        table[fields[0]] = np.array([float(f) for f in fields[1:]], dtype=np.float32)
    missing = [n for n in names if n not in table]
    if missing:
        raise DataError(f"{path}: no parameters for {missing[0]} ({len(missing)} missing)")
    values = torch.from_numpy(np.stack([table[n] for n in names]))
    k = len(IDENTITY_PARAMS)
    return values[:, :k].contiguous(), values[:, k:].contiguous()
