"""Decide early, measured before it is wired in: coverage, verdicts and probe-steps saved.

The group-sequential design (`sia_audit.gates.sequential`) would attack the probes in batches,
look at a few batch ends, and stop at the first look where every gate's verdict is settled.
This replays it on saved per-probe values, nothing attacked:

- **coverage**: each saved audit pair is a population; synthetic audits draw its probes with
  replacement, and at every look the regression intervals (w and SDAR changes, simultaneous
  over the attributes) are checked against the population's own change. Joint coverage over
  every look, with the design's stretched intervals and with plain 95% ones at each look;
- **verdicts and savings**: the saved audits themselves, in probe order, under
  `policies/fairness.yaml` (its w and s ceilings on every audit, its regression section on
  every control -> control2 and control -> plant pair): the look each would stop at, and
  whether its verdict is the one every probe gives (`--probes-all`).

Reads the held-out suite's choose half (docs/logs/heldout/); the test half is left alone.

    PYTHONPATH=. nice .venv/bin/python -m benchmarks.validity.sequential --replicates 100
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from torch import Tensor

from benchmarks.validity import heldout_scoring as hs
from benchmarks.validity.sequential_design import (
    SPENDINGS,
    Check,
    Design,
    fixed,
    plan,
    settle,
    stretched,
)
from sia_audit.gates.regression import (
    ProbeTable,
    load_report,
    regression_verdicts,
    table_from_report,
)
from sia_audit.gates.rise import Rise, check_rise
from sia_audit.metrics.bootstrap import bootstrap
from sia_audit.metrics.weighted import statistic as w_statistic
from sia_audit.policy import load_policy
from sia_audit.results import GateVerdict

BOOT = hs.BOOT
BATCH = 32
POLICY = load_policy(hs.SHIPPED)
SECTION = POLICY.gates.regression
assert SECTION is not None


def regression(base: ProbeTable, head: ProbeTable, stretch: float) -> list[GateVerdict]:
    """The shipped regression gates at one look: each interval stretched about its estimate
    by `stretch`, and the rule applied again to it."""
    out = []
    for v in regression_verdicts(SECTION, base, head, (), BOOT, "skip"):
        if v.status not in ("pass", "fail"):
            continue
        assert v.value is not None and v.low is not None and v.high is not None
        assert v.bound == "max" and v.threshold is not None  # rises only in fairness.yaml
        low, high = stretched(v.value, v.low, v.high, stretch)
        out.append(check_rise(v.gate, Rise(v.value, low, high), v.threshold, v.use_confidence))
    return out


def thresholds(a: hs.Audit, t: ProbeTable, stretch: float) -> list[GateVerdict]:
    """fairness.yaml's w and s ceilings (confident: the low end against the max) at one look,
    on the attributes the audit ranks."""
    x = t.weighted
    assert x is not None
    s = bootstrap(t.delta.abs(), None, BOOT)
    inputs = torch.cat([x.delta.abs(), x.effects, x.rise[:, None]], dim=1)
    w = bootstrap(inputs, w_statistic, BOOT)
    out = []
    gates = POLICY.gates
    for name, rep, gate in (("s", s, gates.sensitivity), ("w", w, gates.weighted_sensitivity)):
        assert gate is not None and gate.max is not None
        for attr in a.ranked:
            j = t.attributes.index(attr)
            value = float(rep.value[j])
            low, high = stretched(value, float(rep.low[j]), float(rep.high[j]), stretch)
            out.append(GateVerdict(f"{name}[{attr}]", "fail" if low > gate.max else "pass",
                                   value, low, high, gate.max, "max", True, ""))  # fmt: skip
    return out


def as_check(v: GateVerdict) -> Check:
    return Check(v.gate, v.status, v.value, v.low, v.high, v.threshold, v.bound,
                 v.use_confidence)  # fmt: skip


def replay(
    verdicts_at: Callable[[int, float], list[GateVerdict]], design: Design
) -> tuple[int, bool, bool]:
    """(look it stops at (1-based), its verdict fails, every probe's verdict fails) under the
    design's rule: `gates`, stop once every gate is settled; `verdict`, once the run's verdict
    is (one settled failure, or every gate settled)."""
    full = any(v.status == "fail" for v in verdicts_at(len(design.looks) - 1, 1.0))
    for k in range(len(design.looks)):
        got = verdicts_at(k, design.stretch(k))
        done = [settle(as_check(v), design, k) for v in got]
        settled_fail = any(d and v.status == "fail" for d, v in zip(done, got, strict=True))
        if all(done) or (design.until == "verdict" and settled_fail):
            fails = settled_fail if not all(done) else any(v.status == "fail" for v in got)
            return k + 1, fails, full
    raise AssertionError("the last look settles every gate")


def first(t: ProbeTable, n: int) -> ProbeTable:
    """The table on its first n probes: what a run that stopped there would hold."""
    return hs.subset(t, range(n))


def replay_threshold(a: hs.Audit, t: ProbeTable, design: Design) -> tuple[int, bool, bool]:
    return replay(lambda k, r: thresholds(a, first(t, design.looks[k]), r), design)


def replay_pair(b: ProbeTable, h: ProbeTable, design: Design) -> tuple[int, bool, bool]:
    return replay(
        lambda k, r: regression(first(b, design.looks[k]), first(h, design.looks[k]), r), design
    )


def savings(
    audits: Sequence[hs.Audit], sizes: Sequence[int], spending: str, until: str
) -> list[str]:
    """Per planned size, the looks the saved audits would stop at and their verdicts."""
    plants, nulls = hs.pairs_of(audits)
    lines = [f"spending {spending}, stop once the {until} settled:", "",
             "| case | probes | looks | stopped at (median share of probes) | same verdict | "
             "fails (early / all) |", "|---|---|---|---|---|---|"]  # fmt: skip
    for n in sizes:
        design = plan(n, BATCH, spending=spending, until=until)
        rows: dict[str, list[tuple[int, bool, bool]]] = {
            "threshold": [], "null pair": [], "plant pair": []}  # fmt: skip
        for a in audits:
            for idx in hs.chunks(len(a.table.names), n):
                rows["threshold"].append(replay_threshold(a, hs.subset(a.table, idx), design))
        for kind, pairs in (("null pair", nulls), ("plant pair", plants)):
            for base, head in pairs:
                for idx in hs.chunks(len(base.table.names), n):
                    b, h = hs.subset(base.table, idx), hs.subset(head.table, idx)
                    rows[kind].append(replay_pair(b, h, design))
        for kind, got in rows.items():
            shares = [design.looks[k - 1] / n for k, _, _ in got]
            stops = ", ".join(
                f"{k}x{sum(s == k for s, _, _ in got)}" for k in sorted({s for s, _, _ in got})
            )
            same = sum(early == full for _, early, full in got)
            failed = f"{sum(e for _, e, _ in got)} / {sum(f for _, _, f in got)}"
            looks = ", ".join(map(str, design.looks))
            lines.append(f"| {kind} | {n} | {looks} | {statistics.median(shares):.2f} "
                         f"(looks: {stops}) | {same}/{len(got)} | {failed} |")  # fmt: skip
    return lines


def covers(v: GateVerdict, truth: float | None, sides: int) -> bool:
    """Does the interval hold the true change (both ends, or its low end alone: what keeps a
    rise that is not there from being called sure)?"""
    assert v.low is not None and v.high is not None and truth is not None
    return v.low <= truth and (sides == 1 or truth <= v.high)


def coverage(pairs: Sequence[hs.Pair], n: int, replicates: int, seed: int = 0) -> list[str]:
    """Joint coverage of the regression intervals: every interval at every look with the
    design's stretch, the same at plain 95%, and the fixed design (one look on all n probes)."""
    design = plan(n, BATCH)
    g = torch.Generator().manual_seed(seed)
    every, last = range(len(design.looks)), range(len(design.looks) - 1, len(design.looks))
    kinds = {  # name -> (looks checked, stretch at look k, sides)
        "design, every look (stretched)": (every, design.stretch, 2),
        "plain 95% at every look": (every, lambda k: 1.0, 2),
        "fixed design: one look on all probes": (last, lambda k: 1.0, 2),
        "design, low ends only (a gate's false alarms)": (every, design.stretch, 1),
        "plain 95%, low ends only": (every, lambda k: 1.0, 1),
        "fixed design, low ends only": (last, lambda k: 1.0, 1),
    }
    hit = dict.fromkeys(kinds, 0)
    missed_by: dict[str, int] = {}  # the figure whose interval missed, fixed design
    tried = 0
    for base, head in pairs:
        truth = {v.gate: v.value for v in regression(base.table, head.table, 1.0)}
        total = len(base.table.names)
        for _ in range(replicates):
            draw: Tensor = torch.randint(0, total, (n,), generator=g)
            b, h = hs.subset(base.table, draw.tolist()), hs.subset(head.table, draw.tolist())
            # A resample repeats probes: give each draw its own name so that pairing holds.
            names = tuple(f"d{i}" for i in range(n))
            b, h = dataclasses.replace(b, names=names), dataclasses.replace(h, names=names)
            tried += 1
            for kind, (checked, stretch, sides) in kinds.items():
                missed = None
                for k in checked:
                    size = design.looks[k]
                    bk, hk = hs.subset(b, range(size)), hs.subset(h, range(size))
                    missed = next((v.gate for v in regression(bk, hk, stretch(k))
                                   if not covers(v, truth[v.gate], sides)), None)  # fmt: skip
                    if missed:
                        break
                hit[kind] += missed is None
                if missed and kind == "fixed design: one look on all probes":
                    figure = missed.split()[1].split("[")[0]
                    missed_by[figure] = missed_by.get(figure, 0) + 1
    at = ", ".join(map(str, design.looks))
    lines = [f"coverage over {tried} synthetic audits of {n} probes (looks {at}), "
             "every regression interval at once:"]  # fmt: skip
    lines += [f"  {kind}: {hit[kind] / tried:.3f} ({hit[kind]}/{tried})" for kind in kinds]
    lines.append(f"  fixed design's misses by figure: {missed_by}")
    return lines


def demo_pair(control: Path, biased: Path) -> list[str]:
    """The demo's two models (report.json of each under fairness.yaml, 64 probes): where each
    threshold audit and the control -> biased comparison would stop."""
    audits = []
    for path, kind in ((control, "control"), (biased, "plant")):
        table = table_from_report(load_report(path), str(path))
        audits.append(hs.Audit(f"demo {kind}", "demo", "Eyeglasses", kind, 1,
                               "Mustache" if kind == "plant" else None, kind, 0.0, None,
                               table))  # fmt: skip
    lines = ["| case | looks | stopped at | verdict early / every probe |", "|---|---|---|---|"]
    for spending in SPENDINGS:
        for until in ("gates", "verdict"):
            design = plan(len(audits[0].table.names), BATCH, spending=spending, until=until)
            got = [(a.name, replay_threshold(a, a.table, design)) for a in audits]
            got.append(("control -> biased", replay_pair(audits[0].table, audits[1].table,
                                                         design)))  # fmt: skip
            for name, (k, early, full) in got:
                words = {True: "fail", False: "pass"}
                lines.append(f"| {name} ({spending}, until {until}) | "
                             f"{', '.join(map(str, design.looks))} | look {k} "
                             f"({design.looks[k - 1]} probes) | {words[early]} / "
                             f"{words[full]} |")  # fmt: skip
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=100, help="per pair, for coverage")
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 256])
    parser.add_argument("--demo", type=Path, nargs=2, metavar=("CONTROL", "BIASED"),
                        help="also replay the demo models' report.json files")  # fmt: skip
    args = parser.parse_args()
    torch.set_num_threads(1)
    t0 = time.time()
    audits = hs.load_half("choose")
    plants, nulls = hs.pairs_of(audits)
    print(f"{len(audits)} audits, {len(nulls)} null pairs, {len(plants)} plant pairs "
          f"(choose half); design: {plan(256, BATCH).as_dict()}\n")  # fmt: skip
    for spending in SPENDINGS:
        for until in ("gates", "verdict"):
            print("\n".join(savings(audits, args.sizes, spending, until)) + "\n")
    if args.demo:
        print("\n".join(demo_pair(*args.demo)) + "\n")
    for n in args.sizes:
        print("\n".join(coverage(nulls + plants, n, args.replicates)) + "\n")
    print(f"fixed design for reference: {fixed(64).as_dict()}")
    print(f"{time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()
