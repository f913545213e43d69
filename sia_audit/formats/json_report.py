"""report.json: every figure with its interval, the gate verdicts, per-probe data, provenance.

Figures are deterministic for the same inputs on the same device; wall times and the date live
apart in `timings`, so two runs can be compared by everything else. The `gallery` block holds a
few adversaries as small PNGs so that HTML and PDF can be re-rendered from this file alone.
"""

from __future__ import annotations

import base64
import dataclasses
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image

from sia_audit import report_schema
from sia_audit.formats.interface import Report
from sia_audit.report_schema import SCHEMA_VERSION

if TYPE_CHECKING:  # re-rendering a saved report must not need torch
    from sia_audit.results import GalleryItem, RunOutcome


def _estimate(e) -> dict[str, Any] | None:  # noqa: ANN001 - Estimate | None
    return None if e is None else e.as_dict()


def _rows(t) -> list | None:  # noqa: ANN001 - Tensor | None
    return None if t is None else [[round(float(v), 6) for v in row] for row in t.tolist()]


def _flat(t) -> list | None:  # noqa: ANN001 - Tensor | None
    return None if t is None else [round(float(v), 6) for v in t.tolist()]


def png_base64(image) -> str:  # noqa: ANN001 - uint8 Tensor (H, W, 3)
    """A uint8 RGB image as base64 PNG (no timestamp chunks: same pixels, same text)."""
    buf = io.BytesIO()
    Image.fromarray(image.numpy(), "RGB").save(buf, format="PNG")
    return base64.b64encode(buf.getvalue()).decode("ascii")


def gallery_item(item: GalleryItem) -> dict[str, Any]:
    return {
        "name": item.name,
        "flipped": item.flipped,
        "changes": [{"attribute": a, "change": v} for a, v in item.changes],
        "images": {
            "original": png_base64(item.original),
            "reconstruction": png_base64(item.reconstruction),
            "adversary": png_base64(item.adversary),
        },
    }


def report_dict(outcome: RunOutcome) -> dict[str, Any]:
    r = outcome.result
    attacks = {}
    for name, a in r.attacks.items():
        attacks[name] = {
            "config": a.config,
            "robust_accuracy": _estimate(a.robust_accuracy),
            "attack_success_rate": _estimate(a.attack_success_rate),
            "psnr_x0": _estimate(a.psnr_x0),
            "ssim_x0": _estimate(a.ssim_x0),
            "psnr_recon": _estimate(a.psnr_recon),
            "ssim_recon": _estimate(a.ssim_recon),
            "mean_nme": _estimate(a.mean_nme),
            "failure_rate": _estimate(a.failure_rate),
        }
    main = r.main.probes
    optional = {} if outcome.onnx is None else {"onnx": outcome.onnx.as_dict()}
    return {
        "schema_version": SCHEMA_VERSION,
        "verdict": "pass" if outcome.passed else "fail",
        "gates": [dataclasses.asdict(v) for v in outcome.verdicts],
        "protected": list(outcome.protected),
        "figures": {
            "clean_accuracy": _estimate(r.clean_accuracy),
            "reconstruction_accuracy": _estimate(r.reconstruction_accuracy),
            "sensitivity": r.sensitivity.as_dict(),
            "subpopulations": {k: v.as_dict() for k, v in r.subpopulations.items()},
            "single_attribute": None
            if r.single_attribute is None
            else r.single_attribute.as_dict(),
            "attacks": attacks,
            "editability": None if r.editability is None else r.editability.as_dict(),
            # Every per-attribute figure beyond s (audit.figures), under its block name.
            **{name: None if f is None else f.as_dict() for name, f in r.figures.items()},
        },
        "flags": [f.as_dict() for f in outcome.flags],
        "probes": {
            "attack": r.main_attack,
            "attributes": list(r.attr_names),
            "frozen": list(r.frozen),
            "names": list(main.names),
            "a0": _rows(main.a0),
            "delta": _rows(main.delta),
            "correct_clean": [bool(v) for v in main.correct_clean.tolist()],
            "correct_reconstruction": [bool(v) for v in main.correct_start.tolist()],
            "correct_adversary": [bool(v) for v in main.correct_adv.tolist()],
            "loss_adversary": _flat(main.loss_adv),
            "loss_start": _flat(main.loss_start),
            "effects": _rows(main.effects),
            "flip_loss": _rows(main.flip_loss),
            "flip_changed": None
            if main.flip_changed is None
            else [[bool(v) for v in row] for row in main.flip_changed.tolist()],
        },
        "gallery": [gallery_item(g) for g in r.gallery],
        "provenance": {**r.provenance, **outcome.inputs},
        "timings": {
            "load": round(outcome.load_seconds, 3),
            **{k: round(v, 3) for k, v in r.timings.items()},
            "wall": round(outcome.wall_seconds, 3),
            "finished_utc": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        **optional,  # additive blocks: absent when the run did not produce them
    }


def dumps(data: dict[str, Any]) -> str:
    """The report as JSON text (sorted keys, finite numbers only)."""
    return json.dumps(data, indent=2, sort_keys=True, allow_nan=False) + "\n"


def report_of(outcome: RunOutcome, files: tuple[str, ...] = ()) -> Report:
    """The report every format renders, built once per run."""
    data = report_dict(outcome)
    return Report(data, dumps(data).encode("utf-8"), files)


def render(report: Report) -> bytes:
    """report.json: the bytes the report was built from (the PDF embeds the same bytes)."""
    return report.json_bytes


def load(path: Path, files: tuple[str, ...] = ()) -> Report:
    """A saved report.json for re-rendering (report_schema.load: anything else is one DataError
    line), with its exact bytes for the PDF to embed."""
    record = report_schema.load(path)
    assert record.json_bytes is not None
    return Report(dict(record.data), record.json_bytes, files)
