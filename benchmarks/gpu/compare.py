"""How two report.json dicts of the same audit must agree: the GPU check's correctness rules.

Two kinds of comparison, both pure functions of the saved report dicts:

- `compare_reports(reference, other, tolerance)`: the same audit run another way (on CUDA
  instead of the CPU, under torch.compile or CUDA graphs, in bf16). The maths is the same, the
  float rounding is not, and a signed-gradient step turns a rounding difference in a gradient
  near zero into a whole step of eta, so per-probe rows may differ. What a user reads must not:
  - equal: the verdict, every gate's status, and the order of any two attributes whose
    reference s differ by more than `rank_gap` (closer pairs are ties within the tolerance);
  - within the tolerance: every s_k (overall and per sub-population group), SDAR of s, every
    attribute effect, accuracies and attack success rates (`probes` probes may change their
    outcome), PSNR and SSIM of each attack. h and SDAR of h are functions of s: checking s
    covers them. Only the point values are compared; the intervals come from the same
    bootstrap resamples of the same per-probe rows, so they move with them.
- `report_differences(a, b)`: a torchrun report against the single-process one: every figure,
  interval and per-probe row bit for bit, except wall times and where the run happened.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Tolerance:
    """How far each kind of figure may move between two runs of one audit (absolute units)."""

    name: str
    s: float  # sensitivity s_k, attribute units in [0, 1]
    sdar: float  # SDAR of s
    effect: float  # attribute effect, loss units
    probes: int  # accuracies and ASR: this many probes may change their outcome
    psnr_db: float
    ssim: float
    rank_gap: float  # reference s gaps above this must keep their order
    why: str


TOLERANCES: dict[str, Tolerance] = {
    t.name: t
    for t in (
        # Same float32 maths, other kernels (CUDA, TF32 convolutions, Inductor fusion): s is a
        # mean over the probes of moves of eta_a (4/255 = 0.016 in the demo policy), so 0.02
        # lets about one step per probe-attribute differ on average; the bootstrap intervals
        # of the demo's s are ~0.15 wide, ten times that.
        Tolerance(
            "float",
            s=0.02,
            sdar=0.01,
            effect=0.05,
            probes=2,
            psnr_db=0.5,
            ssim=0.01,
            rank_gap=0.04,
            why="same float32 maths, other kernels or fusion (CUDA, TF32 convs, Inductor)",
        ),
        # bf16 autocast keeps 8 bits of mantissa in G and f: every gradient is noisier, so more
        # sign flips; still well inside the figures' own intervals.
        Tolerance(
            "bf16",
            s=0.05,
            sdar=0.02,
            effect=0.1,
            probes=4,
            psnr_db=1.5,
            ssim=0.02,
            rank_gap=0.1,
            why="bf16 autocast of G and f against float32",
        ),
        # Two runs that must be bit-equal (the same device twice, CPU against CPU).
        Tolerance(
            "exact",
            s=0.0,
            sdar=0.0,
            effect=0.0,
            probes=0,
            psnr_db=0.0,
            ssim=0.0,
            rank_gap=0.0,
            why="the same computation twice",
        ),
    )
}


@dataclass(frozen=True)
class Check:
    """One compared figure: the reference, the other run's value, the allowed gap, the outcome."""

    figure: str
    reference: Any
    value: Any
    limit: float | None  # None: must be equal
    ok: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _limit(kind: str, n: int, tol: Tolerance) -> float:
    if kind == "fraction":
        return tol.probes / n if n else 0.0
    return {
        "s": tol.s,
        "sdar": tol.sdar,
        "effect": tol.effect,
        "psnr": tol.psnr_db,
        "ssim": tol.ssim,
    }[kind]


def _estimate(e: Any) -> tuple[float, int] | None:
    if not isinstance(e, Mapping) or "value" not in e:
        return None
    return float(e["value"]), int(e.get("n", 0))


def _sensitivity_figures(prefix: str, sens: Any) -> Iterator[tuple[str, str, Any]]:
    if not isinstance(sens, Mapping):
        return
    for attr, e in (sens.get("s") or {}).items():
        yield f"{prefix}s[{attr}]", "s", e
    yield f"{prefix}sdar_s", "sdar", sens.get("sdar_s")


def figures(report: Mapping[str, Any]) -> dict[str, tuple[str, float, int]]:
    """Every compared figure of a report: name -> (kind, value, n)."""
    f = report.get("figures", {})
    rows: list[tuple[str, str, Any]] = [
        ("clean_accuracy", "fraction", f.get("clean_accuracy")),
        ("reconstruction_accuracy", "fraction", f.get("reconstruction_accuracy")),
    ]
    rows += _sensitivity_figures("", f.get("sensitivity"))
    for attr, sub in (f.get("subpopulations") or {}).items():
        for side in ("in_group", "out_group"):
            group = sub.get(side) or {}
            rows += _sensitivity_figures(f"{attr}.{side}.", group.get("sensitivity"))
    effects = f.get("attribute_effect") or {}
    for attr, e in (effects.get("effect") or {}).items():
        rows.append((f"effect[{attr}]", "effect", e))
    for name, a in (f.get("attacks") or {}).items():
        for key, kind in (
            ("robust_accuracy", "fraction"),
            ("attack_success_rate", "fraction"),
            ("psnr_x0", "psnr"),
            ("psnr_recon", "psnr"),
            ("ssim_x0", "ssim"),
            ("ssim_recon", "ssim"),
        ):
            rows.append((f"{name}.{key}", kind, a.get(key)))
    out = {}
    for name, kind, e in rows:
        est = _estimate(e)
        if est is not None:
            out[name] = (kind, est[0], est[1])
    return out


def _gate_statuses(report: Mapping[str, Any]) -> dict[str, str]:
    return {g["gate"]: g["status"] for g in report.get("gates", [])}


def _s_values(report: Mapping[str, Any]) -> dict[str, float]:
    sens = report.get("figures", {}).get("sensitivity") or {}
    return {a: float(e["value"]) for a, e in (sens.get("s") or {}).items()}


def rank_check(reference: Mapping[str, float], other: Mapping[str, float], gap: float) -> Check:
    """Pairs whose reference s differ by more than `gap` must keep their order in `other`."""
    swapped = [
        f"{hi} > {lo}"
        for hi in reference
        for lo in reference
        if reference[hi] - reference[lo] > gap and not other.get(hi, 0.0) > other.get(lo, 0.0)
    ]
    order = sorted(reference, key=lambda a: -reference[a])
    return Check(
        "ranks of s",
        order[:3],
        sorted(other, key=lambda a: -other[a])[:3] if not swapped else swapped[:5],
        gap,
        not swapped and set(reference) == set(other),
    )


def compare_reports(
    reference: Mapping[str, Any], other: Mapping[str, Any], tolerance: Tolerance
) -> list[Check]:
    """Every check of `other` against `reference` (see the module docstring)."""
    verdict, other_verdict = reference.get("verdict"), other.get("verdict")
    checks = [Check("verdict", verdict, other_verdict, None, verdict == other_verdict is not None)]
    ref_gates, other_gates = _gate_statuses(reference), _gate_statuses(other)
    for gate in sorted(set(ref_gates) | set(other_gates)):
        r, o = ref_gates.get(gate), other_gates.get(gate)
        checks.append(Check(f"gate {gate}", r, o, None, r == o))
    checks.append(rank_check(_s_values(reference), _s_values(other), tolerance.rank_gap))
    ref_figs, other_figs = figures(reference), figures(other)
    for name in sorted(set(ref_figs) | set(other_figs)):
        if name not in ref_figs or name not in other_figs:
            checks.append(
                Check(name, _value(ref_figs, name), _value(other_figs, name), None, False)
            )
            continue
        kind, ref_value, n = ref_figs[name]
        value = other_figs[name][1]
        limit = _limit(kind, n, tolerance)
        # A tiny slack for the rounding of JSON and of the limit itself.
        checks.append(Check(name, ref_value, value, limit, abs(value - ref_value) <= limit + 1e-9))
    return checks


def _value(figs: Mapping[str, tuple[str, float, int]], name: str) -> float | None:
    return figs[name][1] if name in figs else None


def summary(checks: list[Check]) -> dict[str, Any]:
    """Counts, and the failed checks in full (what the JSON and the log show)."""
    failed = [c.as_dict() for c in checks if not c.ok]
    return {"checks": len(checks), "failed": len(failed), "failures": failed}


# Parts of a report that say when and where it was made, not what it found.
WHERE_AND_WHEN: tuple[tuple[str, ...], ...] = (
    ("timings",),
    ("provenance", "ranks"),
    ("provenance", "device"),
)


def report_differences(
    a: Any,
    b: Any,
    ignore: tuple[tuple[str, ...], ...] = WHERE_AND_WHEN,
    path: tuple[str, ...] = (),
    limit: int = 20,
) -> list[str]:
    """The key paths where two report dicts differ (at most `limit`), bit for bit."""
    if path in ignore:
        return []
    where = ".".join(path) or "<root>"
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        out: list[str] = []
        for key in sorted(set(a) | set(b), key=str):
            if key not in a or key not in b:
                if (*path, str(key)) not in ignore:
                    out.append(f"{where}.{key}: only in {'first' if key in a else 'second'}")
            else:
                out += report_differences(a[key], b[key], ignore, (*path, str(key)), limit)
            if len(out) >= limit:
                break
        return out[:limit]
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{where}: {len(a)} vs {len(b)} items"]
        out = []
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            out += report_differences(x, y, ignore, (*path, str(i)), limit)
            if len(out) >= limit:
                break
        return out[:limit]
    return [] if a == b else [f"{where}: {a!r:.60} vs {b!r:.60}"]
