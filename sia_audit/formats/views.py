"""View models: report.json's data turned into the rows, strings and chart geometry templates show.

Templates only loop and print; every choice (order, rounding, which columns exist, what is
protected) is made here, once, for HTML, PDF and Markdown alike. Reading a damaged or foreign
report fails here as one DataError line, before any file is written.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sia_audit.errors import DataError
from sia_audit.formats.editability_view import EditabilityView, editability_view
from sia_audit.formats.figures import (
    AttackTable,
    SensitivityRow,
    SensitivityView,
    SubpopView,
    attack_table,
    sensitivity_view,
    subpop_view,
)
from sia_audit.formats.gallery import GalleryCard, gallery_cards
from sia_audit.formats.onnx_view import OnnxView, onnx_view

TOP_SENSITIVE = 3
FAILING = ("fail", "unmeasurable")  # gate statuses that fail a run (as gate.FAILING)


@dataclass(frozen=True)
class GateRow:
    name: str
    status: str  # pass / fail / skipped / unmeasurable
    value: str
    interval: str
    threshold: str  # "≤ 0.25", "≥ 0.98" or "" when skipped
    basis: str  # what is compared with the threshold
    message: str


@dataclass(frozen=True)
class ReportView:
    """Everything a report shows, in reading order."""

    title: str
    model: str
    model_sha256: str
    date: str
    date_iso: str | None
    tool_version: str
    passed: bool
    verdict: str  # PASSED / FAILED
    attack: str
    probes: int
    gates: tuple[GateRow, ...]
    failed: tuple[GateRow, ...]
    regression: tuple[GateRow, ...]
    sensitivity: SensitivityView
    top_sensitive: tuple[SensitivityRow, ...]
    attacks: AttackTable
    gallery: tuple[GalleryCard, ...]
    subpopulations: tuple[SubpopView, ...]
    provenance: tuple[tuple[str, str], ...]
    timings: str
    files: tuple[str, ...]
    onnx: OnnxView | None = None  # the --onnx check, when the run had one
    editability: EditabilityView | None = None  # None: no attribute classifier judged G


def build(data: Mapping[str, Any], files: Sequence[str] = ()) -> ReportView:
    """The view of a report.json dict; a damaged report is one DataError naming what is wrong."""
    try:
        return _build(data, tuple(files))
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise DataError(
            f"the report is damaged or not from this sia-audit ({type(exc).__name__}: {exc}); "
            "re-run sia-audit run to write a new report.json"
        ) from exc


def _build(data: Mapping[str, Any], files: tuple[str, ...]) -> ReportView:
    prov = data["provenance"]
    protected = tuple(str(a) for a in data.get("protected", ()))
    gates = tuple(gate_row(g) for g in data["gates"])
    plain = tuple(g for g in gates if not g.name.startswith("regression"))
    regression = tuple(g for g in gates if g.name.startswith("regression"))
    sens = sensitivity_view(data["figures"], protected, data["gates"])
    finished = data.get("timings", {}).get("finished_utc")
    model = str(prov["target"])
    return ReportView(
        title=f"sia-audit report: {model}",
        model=model,
        model_sha256=str(prov["target_sha256"]),
        date=_date(finished),
        date_iso=finished if isinstance(finished, str) else None,
        tool_version=str(prov["tool_version"]),
        passed=data["verdict"] == "pass",
        verdict="PASSED" if data["verdict"] == "pass" else "FAILED",
        attack=str(data["probes"]["attack"]),
        probes=int(prov["probes"]),
        gates=plain,
        failed=tuple(g for g in gates if g.status in FAILING),
        regression=regression,
        sensitivity=sens,
        top_sensitive=sens.rows[:TOP_SENSITIVE],
        attacks=attack_table(data["figures"], str(data["probes"]["attack"])),
        gallery=gallery_cards(data.get("gallery", ())),
        subpopulations=tuple(
            subpop_view(v, protected) for v in data["figures"]["subpopulations"].values()
        ),
        provenance=provenance_rows(prov),
        timings=timing_text(data.get("timings", {})),
        files=files,
        onnx=onnx_view(data.get("onnx")),
        editability=editability_view(data["figures"].get("editability")),
    )


def _date(finished: Any) -> str:
    if not isinstance(finished, str):
        return "date not recorded"
    return finished.replace("T", " ").replace("Z", " UTC")


def _g(x: Any) -> str:
    return "" if x is None else f"{float(x):.4g}"


def gate_row(g: Mapping[str, Any]) -> GateRow:
    bound = {"max": "≤ ", "min": "≥ "}.get(g["bound"] or "", "")
    has_value = g["value"] is not None
    return GateRow(
        name=str(g["gate"]),
        status=str(g["status"]),
        value=_g(g["value"]),
        interval=f"[{_g(g['low'])}, {_g(g['high'])}]" if has_value else "",
        threshold=f"{bound}{_g(g['threshold'])}" if g["threshold"] is not None else "",
        basis=("whole interval" if g["use_confidence"] else "value") if has_value else "",
        message=str(g["message"]),
    )


PROVENANCE_KEYS = (
    ("target", "target"),
    ("target sha256", "target_sha256"),
    ("generator", "generator"),
    ("generator sha256", "generator_sha256"),
    ("policy sha256", "policy_sha256"),
    ("probe manifest sha256", "probe_manifest_sha256"),
    ("probes", "probes"),
    ("task", "task"),
    ("device", "device"),
    ("batch size", "batch_size"),
)
VERSION_KEYS = (
    ("sia-audit", "tool_version"),
    ("torch", "torch_version"),
    ("Python", "python_version"),
)


def _attack_config(cfg: Mapping[str, Any]) -> str:
    def u(x: Any) -> str:
        return f"{float(x) * 255:.3g}/255"

    return (
        f"{cfg['variant']}, {cfg['steps']} steps, eta_x {u(cfg['eta_x'])}, "
        f"eta_a {u(cfg['eta_a'])}, eps_x {u(cfg['eps_x'])}, seed {cfg['seed']}"
    )


def provenance_rows(prov: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    rows = [(label, str(prov[key])) for label, key in PROVENANCE_KEYS if key in prov]
    rows.append(("versions", " · ".join(f"{n} {prov[k]}" for n, k in VERSION_KEYS if k in prov)))
    if "attack" in prov:
        rows.append(("attack", _attack_config(prov["attack"])))
    if "baselines" in prov:
        rows.append(("pixel baselines", ", ".join(map(str, prov["baselines"])) or "none"))
    if "bootstrap" in prov:
        b = prov["bootstrap"]
        rows.append(
            (
                "bootstrap",
                f"{b['resamples']} resamples, seed {b['seed']}, level {float(b['level']):g}",
            )
        )
    return tuple(rows)


TIMING_ORDER = ("load", "attack", "metrics", "wall")  # the order a run spends them in


def timing_text(timings: Mapping[str, Any]) -> str:
    """Wall times in one line, e.g. "load 1.3 s · attack 230.7 s · wall 232.1 s"."""
    keys = sorted(timings, key=lambda k: (TIMING_ORDER.index(k) if k in TIMING_ORDER else 99, k))
    parts = [
        f"{key} {float(timings[key]):.1f} s"
        for key in keys
        if isinstance(timings[key], int | float) and not isinstance(timings[key], bool)
    ]
    return " · ".join(parts)
