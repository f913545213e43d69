"""report.json: every figure with its interval, the gate verdicts, per-probe data, provenance.

Figures are deterministic for the same inputs on the same device; wall times live apart in
`timings`, so two runs can be compared by everything else.
"""

from __future__ import annotations

import dataclasses
import json
from typing import Any

from sia_audit.run import RunOutcome

SCHEMA_VERSION = 1


def _estimate(e) -> dict[str, Any] | None:  # noqa: ANN001 - Estimate | None
    return None if e is None else e.as_dict()


def _rows(t) -> list | None:  # noqa: ANN001 - Tensor | None
    return None if t is None else [[round(float(v), 6) for v in row] for row in t.tolist()]


def _flat(t) -> list | None:  # noqa: ANN001 - Tensor | None
    return None if t is None else [round(float(v), 6) for v in t.tolist()]


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
    return {
        "schema_version": SCHEMA_VERSION,
        "verdict": "pass" if outcome.passed else "fail",
        "gates": [dataclasses.asdict(v) for v in outcome.verdicts],
        "figures": {
            "clean_accuracy": _estimate(r.clean_accuracy),
            "reconstruction_accuracy": _estimate(r.reconstruction_accuracy),
            "sensitivity": r.sensitivity.as_dict(),
            "subpopulations": {k: v.as_dict() for k, v in r.subpopulations.items()},
            "attribute_effect": None if r.effects is None else r.effects.as_dict(),
            "single_attribute": None
            if r.single_attribute is None
            else r.single_attribute.as_dict(),
            "attacks": attacks,
        },
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
        },
        "provenance": {**r.provenance, **outcome.inputs},
        "timings": {
            **{k: round(v, 3) for k, v in r.timings.items()},
            "wall": round(outcome.wall_seconds, 3),
        },
    }


def render(outcome: RunOutcome) -> str:
    """The report as JSON text (sorted keys, finite numbers only)."""
    return json.dumps(report_dict(outcome), indent=2, sort_keys=True, allow_nan=False) + "\n"
