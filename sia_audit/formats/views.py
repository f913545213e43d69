"""View models: report.json's data turned into the rows, strings and chart geometry templates show.

Templates only loop and print; every choice (order, rounding, which columns exist, what is
protected) is made here, once, for HTML, PDF and Markdown alike. Reading a damaged or foreign
report fails here as one DataError line, before any file is written.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
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
from sia_audit.report_schema import (
    AttackConfigRecord,
    GateRecord,
    ProvenanceBlock,
    ReportRecord,
    SchemaError,
    TimingsBlock,
    damaged,
)
from sia_audit.report_schema.per_attribute import BY_KEY

TOP_SENSITIVE = 3
FAILING = ("fail", "unmeasurable")  # gate statuses that fail a run (as gate.FAILING)
COUNTED = (("pass", "passed"), ("fail", "failed"), ("unmeasurable", "unmeasurable"),
           ("skipped", "skipped"))  # fmt: skip


def gate_counts(statuses: Iterable[str]) -> str:
    """ "18 passed, 3 skipped": how many gates ended each way, never a skip counted as a pass."""
    statuses = list(statuses)
    parts = [f"{statuses.count(s)} {word}" for s, word in COUNTED if s in statuses]
    return ", ".join(parts) if parts else "no gates"


def checked(statuses: Iterable[str]) -> int:
    """How many gates were actually checked (passed, failed or unmeasurable, not skipped)."""
    return sum(s != "skipped" for s in statuses)


@dataclass(frozen=True)
class GateRow:
    name: str
    status: str  # pass / fail / skipped / unmeasurable
    value: str
    interval: str
    threshold: str  # "≤ 0.25", "≥ 0.98" or "" when skipped
    why: str  # the verdict in words: "within the max 0.095", "rose by 0.037, ... but not surely"
    message: str


@dataclass(frozen=True)
class FlagRow:
    """A raised validity flag: the audit's figures are not to be trusted, and why."""

    name: str
    level: str  # fail / warn
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
    top_sensitive: tuple[SensitivityRow, ...]  # measurable, largest s first
    attacks: AttackTable
    gallery: tuple[GalleryCard, ...]
    subpopulations: tuple[SubpopView, ...]
    provenance: tuple[tuple[str, str], ...]
    timings: str
    files: tuple[str, ...]
    onnx: OnnxView | None = None  # the --onnx check, when the run had one
    editability: EditabilityView | None = None  # None: no attribute classifier judged G
    flags: tuple[FlagRow, ...] = ()  # the raised validity flags, failing ones first
    flags_checked: int = 0  # how many flags were checked (0: a report from before flags)
    flags_not_checked: tuple[str, ...] = ()  # flags this run measured nothing to check on
    # measurable, largest headline figure first; () when the headline is s (top_sensitive)
    top_lead: tuple[SensitivityRow, ...] = ()
    gate_counts: str = ""  # "18 passed, 3 skipped"


def build(data: Mapping[str, Any], files: Sequence[str] = ()) -> ReportView:
    """The view of a report.json dict; a damaged report is one DataError naming what is wrong."""
    try:
        return _build(ReportRecord(data), tuple(files))
    except SchemaError:
        raise  # already one line naming the key
    except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
        raise DataError(damaged(f"{type(exc).__name__}: {exc}")) from exc


def _top(rows: Sequence[SensitivityRow], key: Callable[[SensitivityRow], float]) -> tuple:
    """The TOP_SENSITIVE measurable rows with the largest key, largest first (stable on ties)."""
    measurable = [r for r in rows if not r.unmeasurable]
    return tuple(sorted(measurable, key=lambda r: -key(r))[:TOP_SENSITIVE])


def _build(report: ReportRecord, files: tuple[str, ...]) -> ReportView:
    prov = report.provenance
    gates = tuple(gate_row(g) for g in report.gates)
    plain = tuple(g for g in gates if not g.name.startswith("regression"))
    regression = tuple(g for g in gates if g.name.startswith("regression"))
    sens = sensitivity_view(report)
    finished = report.timings.finished_utc
    return ReportView(
        title=f"sia-audit report: {prov.target}",
        model=prov.target,
        model_sha256=prov.target_sha256,
        date=_date(finished),
        date_iso=finished,
        tool_version=prov.tool_version,
        passed=report.passed,
        verdict="PASSED" if report.passed else "FAILED",
        attack=report.main_attack,
        probes=prov.probes,
        gates=plain,
        failed=tuple(g for g in gates if g.status in FAILING),
        regression=regression,
        sensitivity=sens,
        # What the generator cannot draw is no finding: it is listed apart, not ranked here.
        # The rows run in the headline figure's order; each list ranks by its own figure, as
        # the CLI prints them.
        top_sensitive=_top(sens.rows, lambda r: report.sensitivity.s[r.attribute].value),
        top_lead=() if sens.lead.key == "s" else _top(sens.rows, _by(report, sens.lead.key)),
        attacks=attack_table(report),
        gallery=gallery_cards(report.gallery),
        subpopulations=tuple(
            subpop_view(v, report.protected) for v in report.subpopulations.values()
        ),
        provenance=provenance_rows(prov),
        timings=timing_text(report.timings),
        files=files,
        onnx=onnx_view(report.onnx),
        editability=editability_view(report.editability, report.sensitivity.excluded),
        flags=tuple(
            sorted(
                (FlagRow(f.name, f.level, f.message) for f in report.flags if f.raised),
                key=lambda f: f.level != "fail",
            )
        ),
        flags_checked=sum(f.checked for f in report.flags),
        flags_not_checked=tuple(f.name for f in report.flags if not f.checked),
        gate_counts=gate_counts(g.status for g in gates),
    )


def _by(report: ReportRecord, key: str) -> Callable[[SensitivityRow], float]:
    """A row's value of the per-attribute figure `key`, as saved (-inf where it has none)."""
    values = BY_KEY[key].read(report) or {}
    return lambda r: values[r.attribute].value if r.attribute in values else float("-inf")


def _date(finished: str | None) -> str:
    if finished is None:
        return "date not recorded"
    return finished.replace("T", " ").replace("Z", " UTC")


def _g(x: float | None) -> str:
    return "" if x is None else f"{x:.4g}"


BOUND_SIGNS = {"max": "≤ ", "min": "≥ "}


def gate_row(g: GateRecord) -> GateRow:
    bound = BOUND_SIGNS.get(g.bound or "", "")
    has_value = g.value is not None
    return GateRow(
        name=g.gate,
        status=g.status,
        value=_g(g.value),
        interval=f"[{_g(g.low)}, {_g(g.high)}]" if has_value else "",
        threshold=f"{bound}{_g(g.threshold)}" if g.threshold is not None else "",
        why=verdict_words(g.message) if has_value else g.message,
        message=g.message,
    )


def verdict_words(message: str) -> str:
    """A gate's message without its leading `gate = value [low, high]: `: the reason alone."""
    head, sep, words = message.partition("]: ")
    return words if sep else message


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


def _attack_config(cfg: AttackConfigRecord) -> str:
    def u(x: float) -> str:
        return f"{x * 255:.3g}/255"

    return (
        f"{cfg.variant}, {cfg.steps} steps, eta_x {u(cfg.eta_x)}, "
        f"eta_a {u(cfg.eta_a)}, eps_x {u(cfg.eps_x)}, seed {cfg.seed}"
    )


def provenance_rows(prov: ProvenanceBlock) -> tuple[tuple[str, str], ...]:
    shown = ((label, prov.text(key)) for label, key in PROVENANCE_KEYS)
    rows = [(label, text) for label, text in shown if text is not None]
    versions = ((n, prov.text(k)) for n, k in VERSION_KEYS)
    rows.append(("versions", " · ".join(f"{n} {v}" for n, v in versions if v is not None)))
    if prov.attack is not None:
        rows.append(("attack", _attack_config(prov.attack)))
    if prov.baselines is not None:
        rows.append(("pixel baselines", ", ".join(prov.baselines) or "none"))
    if (b := prov.bootstrap) is not None:
        rows.append(("bootstrap", f"{b.resamples} resamples, seed {b.seed}, level {b.level:g}"))
    return tuple(rows)


TIMING_ORDER = ("load", "attack", "metrics", "wall")  # the order a run spends them in


def timing_text(timings: TimingsBlock) -> str:
    """Wall times in one line, e.g. "load 1.3 s · attack 230.7 s · wall 232.1 s"."""
    seconds = timings.seconds
    keys = sorted(seconds, key=lambda k: (TIMING_ORDER.index(k) if k in TIMING_ORDER else 99, k))
    return " · ".join(f"{key} {seconds[key]:.1f} s" for key in keys)
