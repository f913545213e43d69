"""Load and save AttGAN generators: our one-file format, and `load_generator` for both formats
(AttGAN-PyTorch experiment folders are read and written in `reference.py`)."""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch

from sia_audit.errors import DataError, ModelError
from sia_audit.fsutil import atomic_write_bytes
from sia_audit.generators.attgan import AttGANGenerator
from sia_audit.generators.reference import SETTING_FILE, WEIGHTS_DIR, load_reference_folder
from sia_audit.generators.weights import build, safe_load, state_for_saving

FORMAT = "sia-audit-generator"
FORMAT_VERSION = 1

_PROVENANCE_TYPES = (str, int, float, bool, type(None))


def load_generator(source: str | Path, *, which: int | str = "latest") -> AttGANGenerator:
    """A generator from a reference experiment folder or from one of our checkpoint files.

    `which` picks the epoch of a folder ('latest' or N for checkpoint/weights.N.pth). The result
    is in eval mode with its parameters frozen (the attack differentiates through inputs only);
    call `.train().requires_grad_(True)` to fine-tune it.
    """
    path = Path(source)
    if path.is_dir():
        return load_reference_folder(path, which)
    if path.is_file():
        return load_checkpoint(path)
    raise ModelError(
        f"generator {path} does not exist; expected an AttGAN-PyTorch experiment folder "
        f"({SETTING_FILE} + {WEIGHTS_DIR}/weights.N.pth) or a sia-audit generator file"
    )


def load_checkpoint(path: str | Path) -> AttGANGenerator:
    """Our one-file checkpoint (see `save_checkpoint`)."""
    path = Path(path)
    obj = safe_load(path)
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        hint = "run `sia-audit train-generator` or `save_checkpoint` to make one"
        if isinstance(obj, dict) and "G" in obj:
            hint = (
                "it looks like AttGAN-PyTorch weights: pass its experiment folder "
                f"(with {SETTING_FILE})"
            )
        raise ModelError(f"generator file {path} is not a {FORMAT} checkpoint; {hint}")
    version = obj.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelError(
            f"generator file {path} has format_version {version!r} but this sia-audit reads "
            f"version {FORMAT_VERSION}; use the sia-audit release that wrote it or re-save it"
        )
    for key, kind in (("settings", dict), ("attr_names", list), ("state_dict", dict)):
        if not isinstance(obj.get(key), kind):
            raise ModelError(
                f"generator file {path}: '{key}' is missing or not a {kind.__name__}; "
                "the file is damaged, re-save it"
            )
    provenance = obj.get("provenance") or {}
    if not isinstance(provenance, dict):
        raise ModelError(f"generator file {path}: 'provenance' is not a dict; re-save it")
    provenance = {**provenance, "file": str(path)}
    return build(
        path,
        obj["settings"],
        obj["attr_names"],
        obj.get("thres_int", 0.5),
        obj["state_dict"],
        provenance,
    )


def save_checkpoint(
    path: str | Path, generator: AttGANGenerator, provenance: Mapping[str, object]
) -> None:
    """Write our one-file checkpoint atomically; loadable with torch.load(weights_only=True).

    `provenance` is a flat dict of str/int/float/bool/None (script, seed, steps, created, ...).
    """
    bad = [
        k
        for k, v in provenance.items()
        if not isinstance(k, str) or not isinstance(v, _PROVENANCE_TYPES)
    ]
    if bad:
        raise ValueError(f"provenance values must be str/int/float/bool/None; fix {bad}")
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "settings": generator.settings,
        "attr_names": list(generator.attr_names),
        "thres_int": generator.thres_int,
        "state_dict": state_for_saving(generator),
        "provenance": dict(provenance),
    }
    buf = io.BytesIO()
    torch.save(payload, buf)
    atomic_write_bytes(Path(path), buf.getvalue())


def check_attributes(generator_attr_names: Sequence[str], probe_attr_names: Sequence[str]) -> None:
    """Require the probe set's attributes to be exactly the generator's, in the same order."""
    gen, probe = list(generator_attr_names), list(probe_attr_names)
    if gen == probe:
        return
    missing = [n for n in gen if n not in probe]
    extra = [n for n in probe if n not in gen]
    parts = []
    if missing:
        parts.append(f"missing {', '.join(missing)}")
    if extra:
        parts.append(f"not known to the generator: {', '.join(extra)}")
    if not parts:
        dupes = sorted({n for n in [*gen, *probe] if gen.count(n) > 1 or probe.count(n) > 1})
        if dupes:
            parts.append(f"repeated {', '.join(dupes)}")
        else:
            i = next(i for i, (g, p) in enumerate(zip(gen, probe, strict=True)) if g != p)
            parts.append(
                f"misordered from position {i} ({probe[i]} where the generator has {gen[i]})"
            )
    raise DataError(
        f"probe attributes do not match the generator's ({'; '.join(parts)}); select the "
        f"generator's attributes in its order: {', '.join(gen)}"
    )
