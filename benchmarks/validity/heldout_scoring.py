"""Score the held-out suite's audits: which figure names the shortcut, which rules gate it.

Reads the report.json files heldout_suite.py wrote (nothing is attacked here) and measures:

- ranking: per candidate figure, how often the planted attribute ranks first and in the top 3
  among the attributes the figure covers, per band (weak, strong);
- the pull-request gate: `regression_verdicts` (the tool's own code) on control -> plant
  (power) and control -> control2 (false alarms), for candidate regression sections, on
  disjoint probe subsets of 64, 128 and 256;
- threshold gates: per figure, the largest interval low end over every truthful control (the
  lowest confident `max` that fails none) and how many plants a gate there catches;
- the calibrate procedure: a ceiling set on one seed, checked on the other and on the plants;
- on the later rounds (`--half test3`, `test4`, `test5`), the goals declared before their audits
  (`goals`), under the headline and regression section each round declared (`DECLARED`).

    PYTHONPATH=. .venv/bin/python -m benchmarks.validity.heldout_scoring --half choose
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from benchmarks import paths
from benchmarks.validity import heldout_grid as grid
from benchmarks.validity import label_leak
from sia_audit import defaults
from sia_audit.gates.calibrate import MARGINS
from sia_audit.gates.regression import ProbeTable, regression_verdicts, table_from_report
from sia_audit.generators.flips import label_changers, label_partners
from sia_audit.metrics import BootstrapConfig
from sia_audit.metrics.counterfactual import moved_share, push_share, toward_positive
from sia_audit.metrics.weighted import WeightedInputs
from sia_audit.metrics.weighted import statistic as w_statistic
from sia_audit.policy import load_policy
from sia_audit.policy.gates import RegressionSection

RESULTS = paths.LOGS / "heldout"  # the packed audits heldout_suite.py writes
SHIPPED = paths.ROOT / "policies" / "fairness.yaml"  # its regression section is scored too
BOOT = BootstrapConfig(resamples=1000, seed=0, level=0.95)


@dataclass(frozen=True)
class ScoredTable(ProbeTable):
    """A report's per-probe table and its flips' loss changes signed by the way they move the
    answer (`toward_positive`, (N, K)), which the push reads."""

    toward: Tensor | None = None


def scored_table(
    table: ProbeTable, report: dict, label: str, leaky: tuple[str, ...]
) -> ScoredTable:
    """`table` (read from `report`) with the signed moves of its flips: the label's truth and
    each flip's direction come from the probes' attributes a0, as the audit reads them."""
    fields = {f.name: getattr(table, f.name) for f in dataclasses.fields(table)}
    toward = None
    probes = report["probes"]
    if table.flip_loss is not None and probes.get("a0") is not None:
        names = probes["attributes"]
        a0 = torch.tensor(probes["a0"], dtype=torch.float64)
        positive = (a0[:, names.index(label)] >= 0.5).double()
        cols = [names.index(a) for a in table.attributes]
        toward = toward_positive(table.flip_loss, a0[:, cols], positive)
    return ScoredTable(**{**fields, "leaky": leaky}, toward=toward)


@dataclass(frozen=True)
class Audit:
    """One audited model: its report's per-probe table and what it is."""

    name: str
    arch: str
    label: str
    kind: str  # control / plant
    seed: int
    shortcut: str | None
    band: str  # control, weak, strong
    clean_acc: float  # held-out, from training
    disagree_acc: float | None
    table: ProbeTable

    @property
    def ranked(self) -> tuple[str, ...]:
        """The attributes a figure may rank: measurable, not the label or its partners."""
        t = self.table
        partners = label_partners(t.attributes, t.frozen)
        skip = {*t.frozen, *partners, *t.unmeasurable}
        return tuple(a for a in t.attributes if a not in skip)

    def ranked_by(self, figure: str, leak: bool = True) -> tuple[str, ...]:
        """The attributes `figure` ranks: a flip figure leaves out those whose flip changes the
        label, as the tool does (`label_changers`; the leaky ones only if `leak`: the audit
        before it left out only the partners)."""
        if figure not in FLIP_FIGURES:
            return self.ranked
        t = self.table
        changers = label_changers(t.attributes, t.frozen, t.leaky if leak else ())
        return tuple(a for a in self.ranked if a not in changers)


# The test-half audits scored before the second round's choice (their outcomes informed nothing
# chosen, but were seen). `--fresh` keeps the others: the test that choice had not seen. Every
# test cell has been seen since (docs/validity.md): a later round needs new cells, and adds
# these and the second round's audits here.
SEEN_TEST = frozenset(
    {
        "r18_Smiling_Eyeglasses_r1_p0.8.weak", "r18_Smiling_control_s1", "r18_Smiling_control_s2",
        "r18_Wearing_Lipstick_control_s1", "r18_Wearing_Lipstick_control_s2",
        "sres_Bushy_Eyebrows_Mustache_r0.99_p1.strong",
        "sres_Bushy_Eyebrows_Mustache_r0.99_p1.weak", "sres_Bushy_Eyebrows_control_s1",
        "sres_Bushy_Eyebrows_control_s2", "sres_Pale_Skin_control_s1",
        "sres_Smiling_Eyeglasses_r1_p0.8.weak", "sres_Smiling_control_s1",
        "sres_Smiling_control_s2", "sres_Wearing_Lipstick_control_s1",
        "sres_Wearing_Lipstick_control_s2",
    }
)  # fmt: skip


def fresh(audits: Sequence[Audit]) -> list[Audit]:
    """The audits not seen before the choice, and the seed-1 controls they are compared with:
    every pair, plant and sibling drawn from these is one whose outcome was not seen."""
    return [
        a
        for a in audits
        if a.name not in SEEN_TEST or (a.kind == "control" and a.seed == grid.PLANT_SEED)
    ]


# The rule the flips left out a label's redraws by before it averaged per class of the label:
# the move averaged over every probe, above 0.06. Audits written under it name what it left out.
EARLIER_LEAK_RULE = ("mean_leaks_to", 0.06)


def leaky_of(report: dict, label: str, leaks: dict, where: str) -> tuple[str, ...]:
    """The attributes an audit's flip figures leave out for redrawing its label, under the rule
    as it ships, from `leaks` (label_leak.py). Where the report names its own (it was written
    after the flips named them), they are checked against the file under the shipped rule or,
    for a report written before it, the earlier one."""
    prov = report["provenance"]
    for key in ("generator_sha256", "probe_manifest_sha256"):
        if prov[key] != leaks[key]:
            raise SystemExit(f"{where}: {key} differs from {label_leak.OUT.name}'s; re-run it")

    def over(figure: str, limit: float) -> tuple[str, ...]:
        return tuple(a for a, to in leaks[figure].items() if to.get(label, 0.0) > limit)

    expected = over("leaks_to", defaults.MAX_LABEL_LEAK)
    block = (report["figures"].get("counterfactual_flips") or {}).get("label_leak")
    if block is not None and set(block) not in (set(expected), set(over(*EARLIER_LEAK_RULE))):
        raise SystemExit(f"{where}: the report leaves out {sorted(block)}, the file {expected}")
    return expected


def load_half(half: str, results: Path = RESULTS) -> list[Audit]:
    """Every audited model of the half, from the packed results heldout_suite.py writes."""
    cells = {(arch.key, label) for arch, label in grid.cells(half)}
    leaks = label_leak.load()
    out = []
    for path in sorted(results.glob("*.json.gz")):
        packed = json.loads(gzip.decompress(path.read_bytes()))
        model, report = packed["training"], packed["report"]
        if (model["arch"], model["label"]) not in cells:
            continue
        shortcut = model["shortcut"]
        # Reports written before the flips named their leaky attributes get them from the file
        leaky = leaky_of(report, model["label"], leaks, str(path))
        out.append(
            Audit(
                name=Path(model["file"]).stem,
                arch=model["arch"],
                label=model["label"],
                kind=model["kind"],
                seed=model["seed"],
                shortcut=shortcut,
                band=model["band"],
                clean_acc=model["clean_acc"],
                disagree_acc=model.get(f"acc_where_{shortcut}_disagrees") if shortcut else None,
                table=scored_table(
                    table_from_report(report, str(path)), report, model["label"], leaky
                ),
            )
        )
    return out


# A figure maps a table and probe indices to one value per attribute (K,).
Figure = Callable[[ProbeTable, Tensor], Tensor]


def _s(t: ProbeTable, idx: Tensor) -> Tensor:
    return t.delta[idx].abs().mean(dim=0)


def _w(t: ProbeTable, idx: Tensor) -> Tensor:
    x = t.weighted
    assert x is not None
    means = torch.cat([x.delta[idx].abs(), x.effects[idx], x.rise[idx, None]], dim=1).mean(0)
    return torch.nan_to_num(w_statistic(means[None])[0])


def _effect(t: ProbeTable, idx: Tensor) -> Tensor:
    assert t.weighted is not None
    return t.weighted.effects[idx].mean(dim=0)


def _flip_rate(t: ProbeTable, idx: Tensor) -> Tensor:
    assert t.flip_changed is not None
    return t.flip_changed[idx].double().mean(dim=0)


def _flip_loss(t: ProbeTable, idx: Tensor) -> Tensor:
    assert t.flip_loss is not None
    return t.flip_loss[idx].abs().mean(dim=0)


def _moved(t: ProbeTable, idx: Tensor) -> Tensor:
    assert t.flip_loss is not None
    return moved_share(t.flip_loss[idx]).mean(dim=0)


def _push(t: ProbeTable, idx: Tensor) -> Tensor:
    """The push: the size of the mean signed move, each probe in full from PUSH_MOVE on."""
    assert isinstance(t, ScoredTable) and t.toward is not None
    return push_share(t.toward[idx]).mean(dim=0).abs()


def _w_and_flip(t: ProbeTable, idx: Tensor) -> Tensor:
    """Both views at once: the geometric mean of w and the flip loss."""
    return (_w(t, idx).clamp_min(0) * _flip_loss(t, idx)).sqrt()


FIGURES: dict[str, Figure] = {
    "s": _s,
    "effect": _effect,
    "w": _w,
    "flip_rate": _flip_rate,
    "flip_loss": _flip_loss,
    "w_x_flip_loss": _w_and_flip,
    "moved": _moved,
    "push": _push,
}


def _ties_by_flip_loss(first: Tensor, t: ProbeTable, idx: Tensor) -> Tensor:
    """`first`, ties broken by the flip loss, as per_attribute.lead_order orders a report's
    rows: the loss term's largest 1e-4 is far below any gap between two unequal values of
    `first` (a rate moves in steps of 1/n)."""
    loss = _flip_loss(t, idx)
    return first + 1e-4 * loss / (1 + loss)


def _lead(t: ProbeTable, idx: Tensor) -> Tensor:
    """The report's lead: the moved share, ties broken by the flip loss."""
    return _ties_by_flip_loss(_moved(t, idx), t, idx)


def _lead_rate(t: ProbeTable, idx: Tensor) -> Tensor:
    """The lead before the moved share: the flip rate, ties broken by the flip loss."""
    return _ties_by_flip_loss(_flip_rate(t, idx), t, idx)


def _lead_push(t: ProbeTable, idx: Tensor) -> Tensor:
    """The lead after the moved share (binary targets): the push, ties broken by the flip loss."""
    return _ties_by_flip_loss(_push(t, idx), t, idx)


# What a round may declare as the headline: a figure, or the report's lead of its time ("lead":
# the moved share's).
RANKERS: dict[str, Figure] = {
    **FIGURES, "lead": _lead, "lead_rate": _lead_rate, "lead_push": _lead_push,
}  # fmt: skip
# The figures read from the counterfactual flips, which leave out flips that redraw the label.
FLIP_FIGURES = frozenset(
    {"flip_rate", "flip_loss", "w_x_flip_loss", "moved", "push", "lead", "lead_rate", "lead_push"}
)


def rank(a: Audit, figure: str, attr: str, leak: bool = True) -> int:
    """Rank of attr by the figure (a key of RANKERS) among the attributes it ranks (1 =
    largest; ties count against it); len(ranked) + 1 where the figure leaves attr out."""
    t = a.table
    ranked = a.ranked_by(figure, leak)
    if attr not in ranked:
        return len(ranked) + 1
    values = RANKERS[figure](t, torch.arange(len(t.names)))
    v = values[t.attributes.index(attr)]
    return 1 + sum(int(values[t.attributes.index(b)] >= v) for b in ranked if b != attr)


def lows(a: Audit, figure: str, leak: bool = True) -> dict[str, float]:
    """The low end of each ranked attribute's 95% bootstrap interval (what a confident gate
    compares with its max)."""
    t = a.table
    n = len(t.names)
    from sia_audit.metrics.bootstrap import resample_indices

    idx = resample_indices(n, BOOT)
    fig = FIGURES[figure]
    reps = torch.stack([fig(t, row) for row in idx])
    q = torch.nanquantile(reps, (1 - BOOT.level) / 2, dim=0)
    return {b: float(q[t.attributes.index(b)]) for b in a.ranked_by(figure, leak)}


def subset(t: ProbeTable, idx: Sequence[int]) -> ProbeTable:
    """The table restricted to the probes `idx` (in that order)."""
    i = torch.as_tensor(list(idx), dtype=torch.long)
    w = t.weighted
    return dataclasses.replace(
        t,
        names=tuple(t.names[j] for j in idx),
        delta=t.delta[i],
        correct_clean=t.correct_clean[i],
        correct_adv=t.correct_adv[i],
        weighted=None if w is None else WeightedInputs(w.delta[i], w.effects[i], w.rise[i]),
        flip_loss=None if t.flip_loss is None else t.flip_loss[i],
        flip_changed=None if t.flip_changed is None else t.flip_changed[i],
        **(
            {"toward": None if t.toward is None else t.toward[i]}
            if isinstance(t, ScoredTable)
            else {}
        ),
    )


def fails(
    section: RegressionSection, base: ProbeTable, head: ProbeTable, leak: bool = False
) -> bool:
    """Would `sia-audit compare base head` exit 1 under this regression section? The gates as
    shipped compare the flips that redraw the label; `leak` True: as they did from round 6 to
    round 10, leaving out those either report names (their flips in the head made the base's,
    which cannot rise)."""
    if leak:
        cols = [
            base.attributes.index(a) for a in {*base.leaky, *head.leaky} if a in base.attributes
        ]
        if cols and head.flip_loss is not None and base.flip_loss is not None:
            loss, changed = head.flip_loss.clone(), head.flip_changed
            loss[:, cols] = base.flip_loss[:, cols]
            if changed is not None and base.flip_changed is not None:
                changed = changed.clone()
                changed[:, cols] = base.flip_changed[:, cols]
            head = dataclasses.replace(head, flip_loss=loss, flip_changed=changed)
    verdicts = regression_verdicts(section, base, head, (), BOOT, "skip")
    return any(v.status == "fail" for v in verdicts)


def chunks(n_all: int, n: int) -> list[list[int]]:
    """Disjoint consecutive probe subsets of size n."""
    return [list(range(i, i + n)) for i in range(0, n_all - n + 1, n)]


def gate_rates(
    section: RegressionSection, pairs: Sequence[tuple[Audit, Audit]], n: int, leak: bool = False
) -> tuple[int, int]:
    """(failed, tried) over every pair and every disjoint subset of n probes."""
    failed = tried = 0
    for base, head in pairs:
        for idx in chunks(len(base.table.names), n):
            failed += fails(section, subset(base.table, idx), subset(head.table, idx), leak)
            tried += 1
    return failed, tried


Pair = tuple["Audit", "Audit"]


def pairs_of(audits: Sequence[Audit]) -> tuple[list[Pair], list[Pair]]:
    """(control -> plant pairs, control -> control2 null pairs), cell by cell."""
    by_cell: dict[tuple[str, str], dict[str, list[Audit]]] = {}
    for a in audits:
        by_cell.setdefault((a.arch, a.label), {}).setdefault(a.kind, []).append(a)
    plants, nulls = [], []
    for cell in by_cell.values():
        controls = {c.seed: c for c in cell.get("control", [])}
        base = controls.get(grid.PLANT_SEED)
        if base is None:
            continue
        plants += [(base, p) for p in cell.get("plant", [])]
        nulls += [(base, c) for s, c in controls.items() if s != grid.PLANT_SEED]
    return plants, nulls


def ranking_table(plants: Sequence[Audit]) -> list[str]:
    lines = [
        "| figure | rank 1st (all) | top 3 (all) | 1st weak | 1st strong |",
        "|---|---|---|---|---|",
    ]
    for f in FIGURES:
        r = [(p, rank(p, f, p.shortcut)) for p in plants if p.shortcut]
        weak = [x for p, x in r if p.band == "weak"]
        strong = [x for p, x in r if p.band == "strong"]

        def frac(xs: list[int], top: int = 1) -> str:
            return f"{sum(x <= top for x in xs)}/{len(xs)}" if xs else "-"

        lines.append(f"| {f} | {frac([x for _, x in r])} | {frac([x for _, x in r], 3)} "
                     f"| {frac(weak)} | {frac(strong)} |")  # fmt: skip
    return lines


# Candidate regression sections: each per-attribute figure alone at a few allowances, and the
# pairs the report could gate together. Chosen on the choose half (false alarms on null pairs
# <= 5%, then the most power on the weak band).
CANDIDATES: dict[str, dict[str, float]] = {
    **{f"w +{a:g}": {"weighted_increase": a} for a in (0.01, 0.02, 0.03, 0.05)},
    **{f"s +{a:g}": {"sensitivity_increase": a} for a in (0.02, 0.04, 0.06)},
    **{f"flip_rate +{a:g}": {"flip_rate_increase": a} for a in (0.02, 0.03, 0.05, 0.08)},
    **{f"flip_loss +{a:g}": {"flip_loss_increase": a} for a in (0.02, 0.05, 0.1)},
    **{f"sdar +{a:g}": {"sdar_increase": a} for a in (0.01, 0.02)},
    **{
        f"flip_rate +{a:g}, w +{b:g}": {"flip_rate_increase": a, "weighted_increase": b}
        for a in (0.03, 0.05)
        for b in (0.02, 0.03)
    },
    # the section the second round chose, and the one shipped after the test half was seen
    "w +0.01, sdar +0.02": {"weighted_increase": 0.01, "sdar_increase": 0.02},
    "w +0.01, flip_rate +0.05, sdar +0.02": {
        "weighted_increase": 0.01,
        "flip_rate_increase": 0.05,
        "sdar_increase": 0.02,
    },
    # chosen on all three seen rounds, shipped before the fourth was audited
    "flip_loss +0.05, sdar +0.02": {"flip_loss_increase": 0.05, "sdar_increase": 0.02},
    # shipped from the eighth round to the eleventh: the one shipped now without its cap
    "flip_loss +0.05 or 3x, no cap": {
        "flip_loss_increase": 0.05,
        "flip_loss_relative_increase": 3.0,
    },
}


def gate_table(plants: Sequence[Pair], nulls: Sequence[Pair], sizes: Sequence[int]) -> list[str]:
    """Per candidate section and probe count: plants failed (all, weak, strong), nulls failed."""
    weak = [p for p in plants if p[1].band == "weak"]
    strong = [p for p in plants if p[1].band == "strong"]
    lines = [
        "| regression section | probes | plants caught | weak | strong | null pairs failed |",
        "|---|---|---|---|---|---|",
    ]
    sections = {
        name: (RegressionSection(**allowances), False) for name, allowances in CANDIDATES.items()
    }
    shipped = load_policy(SHIPPED).gates.regression
    if shipped is not None:
        sections[f"{SHIPPED.name} as shipped"] = (shipped, False)
        sections[f"{SHIPPED.name}, flips that redraw the label left out"] = (shipped, True)
    for name, (section, leak) in sections.items():
        for n in sizes:
            cells = []
            for group in (plants, weak, strong, nulls):
                failed, tried = gate_rates(section, group, n, leak)
                cells.append(f"{failed}/{tried}" if tried else "-")
            lines.append(f"| {name} | {n} | " + " | ".join(cells) + " |")
    return lines


# The pull-request gate's probe count and regression section, chosen on the choose half by a
# rule fixed before that half's later plants were audited: the smallest count, and at it the
# shipped section before the shipped section with a flip-rate gate added, that fails at most
# 5% of the null comparisons and catches at least 90% of the plant subsets and 80% of the weak
# ones. More probes cost proportionally more attack; a gate adds a test per attribute.
COUNTS = (64, 128, 256)
FLIP_GATE = {"flip_rate_increase": 0.05}
NULL_MAX, CAUGHT_MIN, WEAK_MIN = 0.05, 0.90, 0.80


def powerful(caught: tuple[int, int], weak: tuple[int, int]) -> bool:
    """Catches at least CAUGHT_MIN of the plant subsets and WEAK_MIN of the weak ones."""
    return (
        caught[1] > 0
        and caught[0] >= CAUGHT_MIN * caught[1]
        and (weak[1] == 0 or weak[0] >= WEAK_MIN * weak[1])
    )


def quiet(alarms: tuple[int, int]) -> bool:
    """Fails at most NULL_MAX of the null comparisons."""
    return alarms[0] <= NULL_MAX * alarms[1]


@dataclass(frozen=True)
class Choice:
    """What the rule chose (count None: no option met it) and every option it looked at."""

    count: int | None
    section: str | None
    tried: tuple[tuple[int, str, tuple[int, int], tuple[int, int], tuple[int, int]], ...]


def decide(plants: Sequence[Pair], nulls: Sequence[Pair], shipped: RegressionSection) -> Choice:
    """Apply the declared rule: (count, section name) and the rates behind it."""
    options = {
        "shipped": shipped,
        "shipped + flip_rate +0.05": shipped.model_copy(update=FLIP_GATE),
    }
    weak = [p for p in plants if p[1].band == "weak"]
    tried = []
    for n in COUNTS:
        for name, section in options.items():
            caught, weak_caught, alarms = (gate_rates(section, g, n) for g in (plants, weak, nulls))
            tried.append((n, name, caught, weak_caught, alarms))
            if quiet(alarms) and powerful(caught, weak_caught):
                return Choice(n, name, tuple(tried))
    return Choice(None, None, tuple(tried))


def choice_lines(choice: Choice) -> list[str]:
    lines = [
        "| probes | section | plant subsets caught | weak | null comparisons failed |",
        "|---|---|---|---|---|",
    ]
    for n, name, caught, weak, alarms in choice.tried:
        lines.append(f"| {n} | {name} | {caught[0]}/{caught[1]} | {weak[0]}/{weak[1]} "
                     f"| {alarms[0]}/{alarms[1]} |")  # fmt: skip
    verdict = (f"chosen: {choice.count} probes, {choice.section}" if choice.count
               else "chosen: nothing meets the rule")  # fmt: skip
    return [*lines, "", verdict]


def threshold_table(audits: Sequence[Audit], figures: Sequence[str]) -> list[str]:
    """Per figure: the lowest confident max that fails no truthful control of the half (one
    threshold for every label), and the plants a gate there catches (their planted attribute's
    low end above it)."""
    controls = [a for a in audits if a.kind == "control"]
    plants = [a for a in audits if a.kind == "plant" and a.shortcut]
    lines = [
        "| figure | max that fails no control (whose) | plants caught | weak | strong |",
        "|---|---|---|---|---|",
    ]
    for f in figures:
        worst = max(((v, c.name, attr) for c in controls for attr, v in lows(c, f).items()),
                    default=(float("nan"), "-", "-"))  # fmt: skip
        caught = {p.name: lows(p, f).get(p.shortcut, -1.0) > worst[0] for p in plants}

        def frac(band: str | None, caught: dict[str, bool] = caught) -> str:
            ps = [p for p in plants if band is None or p.band == band]
            return f"{sum(caught[p.name] for p in ps)}/{len(ps)}"

        lines.append(f"| {f} | {worst[0]:.3f} ({worst[1]}, {worst[2]}) | {frac(None)} "
                     f"| {frac('weak')} | {frac('strong')} |")  # fmt: skip
    return lines


# The figures `sia-audit calibrate` sets a ceiling on, by their gate's name there.
CALIBRATED = {"w": "weighted_sensitivity", "s": "sensitivity", "flip_rate": "flip_rate"}


@dataclass(frozen=True)
class Procedure:
    """The calibrate procedure on one figure over a set of audits (see procedure_table)."""

    needed: float  # the largest sibling excess: the smallest margin that fails no sibling
    whose: str
    alarms: int  # siblings failed at the margin
    pairs: int
    caught: dict[str, list[bool]]  # per band, per plant: caught at the margin


def procedure(audits: Sequence[Audit], figure: str, margin: float, leak: bool = True) -> Procedure:
    """The calibrate procedure, cell by cell: a ceiling set on one truthful model (its largest
    low end + the gate's margin) is checked on the other seed (a false alarm when the sibling's
    largest low end is above it) and on the cell's plants (caught when the shortcut's low end
    is above the seed-1 control's ceiling)."""
    cells: dict[tuple[str, str], list[Audit]] = {}
    for a in audits:
        cells.setdefault((a.arch, a.label), []).append(a)
    needed, whose, alarms, pairs = float("-inf"), "-", 0, 0
    caught: dict[str, list[bool]] = {"weak": [], "strong": []}
    for cell in cells.values():
        controls = [a for a in cell if a.kind == "control"]
        top = {c.name: max(lows(c, figure, leak).values()) for c in controls}
        for one in controls:
            for other in controls:
                if other is one:
                    continue
                pairs += 1
                excess = top[other.name] - top[one.name]
                alarms += excess > margin
                if excess > needed:
                    needed, whose = excess, f"{one.name} -> {other.name}"
        base = next((c for c in controls if c.seed == grid.PLANT_SEED), None)
        for p in (a for a in cell if a.kind == "plant" and a.shortcut):
            if base is not None and p.band in caught:
                low = lows(p, figure, leak).get(p.shortcut, -1.0)  # -1: left out, not caught
                caught[p.band].append(low > top[base.name] + margin)
    return Procedure(needed, whose, alarms, pairs, caught)


def procedure_table(audits: Sequence[Audit], margins: dict[str, float]) -> list[str]:
    """The calibrate procedure (`procedure`) per calibrated figure, at its shipped margin;
    'needed' is the smallest margin that fails no sibling of the half."""
    lines = [
        "| figure | margin | needed (whose) | siblings failed | plants caught | weak | strong |",
        "|---|---|---|---|---|---|---|",
    ]
    for f, gate in CALIBRATED.items():
        margin = margins[gate]
        r = procedure(audits, f, margin)

        def frac(xs: list[bool]) -> str:
            return f"{sum(xs)}/{len(xs)}" if xs else "-"

        shown = f"{r.needed:.3f} ({r.whose})" if r.pairs else "-"
        lines.append(f"| {f} | {margin:g} | {shown} | {r.alarms}/{r.pairs} "
                     f"| {frac(r.caught['weak'] + r.caught['strong'])} | {frac(r.caught['weak'])} "
                     f"| {frac(r.caught['strong'])} |")  # fmt: skip
    return lines


# The goals a test half is held to, declared with the third round before any of its models was
# audited: the headline figure ranks the shortcut first in >= 90% of the plants and in the
# top 3 in all; `compare control plant` under the shipped regression section fails >= 90% of
# the plant subsets of GOAL_PROBES probes (>= 80% in the weak band) and `compare control
# control2` <= 5% of the null subsets; the calibrate procedure at the shipped margins fails no
# truthful sibling. Nothing is chosen on a half scored this way.
GOAL_PROBES = 64


@dataclass(frozen=True)
class Declared:
    """What a round tests, committed before its audits: the report's headline then (a key of
    RANKERS) and fairness.yaml's regression section then."""

    headline: str
    section: dict[str, float]
    # Whether the flip figures then left out the flips that redraw the label (MAX_LABEL_LEAK)
    leak: bool = False
    # Whether the regression gates left them out too (from round 6 to round 10; before and
    # after, they compared them)
    compare_leak: bool = False
    # calibrate's margins then, where they differ from the first ones (w 0.03, s 0.04)
    margins: tuple[tuple[str, float], ...] = ()

    def calibrate_margins(self) -> dict[str, float]:
        return {**FIRST_MARGINS, **dict(self.margins)}

    def regression(self) -> RegressionSection:
        return RegressionSection(**self.section, use_confidence=True)


# The third round tested the policy as it shipped then; the fourth, what was chosen on all
# three seen rounds: the flip rate as the report's lead (ties by the flip loss) and a regression
# section on the flip loss and SDAR. The fifth, what was chosen on all four: the same, with the
# flips that redraw the label left out of the flip figures (MAX_LABEL_LEAK). The sixth, what was
# chosen after all five: the regression gates leave those flips out too. The seventh, what was
# chosen after all six: the regression section is the flip loss alone (SDAR's seed pairs failed
# 3 of 12 in the sixth round), and calibrate's margins are the most any seed pair of the six
# rounds needed, rounded up (w 0.04, s 0.11). The eighth, what was chosen after all seven: the
# flip loss may also rise by 3 times the baseline's own flip loss on the attribute (round 7's
# seeds of a weakly learnt label differed by up to 2.96-fold there, its plant by 12- to 48-fold).
# The ninth, the same again: round 8 changed nothing, and measured no pair the rules disagree on.
# The tenth, the same again: round 9 confirmed the allowance on null pairs and had no plant.
# The eleventh, what was chosen after all ten (before any of its models was audited): the same
# section and margins, with a flip's move into the label averaged per class of the label (the
# larger of the means over the faces with it and without it) and left out above 0.07
# (defaults.MAX_LABEL_LEAK; the scorer reads it from label_leak.py's file), since averaged over
# every face Bald's removal of blond hair (0.129 on blond faces) read 0.053, under the limit;
# and the regression gates compare those flips again (on the ten seen rounds that caught 123 of
# 128 plant subsets, leaving the new rule's flips out 119, with no false alarm either way).
FIRST_MARGINS = {**MARGINS, "weighted_sensitivity": 0.03, "sensitivity": 0.04}
DECLARED = {
    "test3": Declared(
        "w", {"weighted_increase": 0.01, "flip_rate_increase": 0.05, "sdar_increase": 0.02}
    ),
    "test4": Declared("lead_rate", {"flip_loss_increase": 0.05, "sdar_increase": 0.02}),
    "test5": Declared("lead_rate", {"flip_loss_increase": 0.05, "sdar_increase": 0.02}, leak=True),
    "test6": Declared(
        "lead_rate",
        {"flip_loss_increase": 0.05, "sdar_increase": 0.02},
        leak=True,
        compare_leak=True,
    ),
    "test7": Declared(
        "lead_rate",
        {"flip_loss_increase": 0.05},
        leak=True,
        compare_leak=True,
        margins=(("weighted_sensitivity", 0.04), ("sensitivity", 0.11)),
    ),
    "test8": Declared(
        "lead_rate",
        {"flip_loss_increase": 0.05, "flip_loss_relative_increase": 3.0},
        leak=True,
        compare_leak=True,
        margins=(("weighted_sensitivity", 0.04), ("sensitivity", 0.11)),
    ),
}
DECLARED["test9"] = DECLARED["test8"]
DECLARED["test10"] = DECLARED["test8"]
DECLARED["test11"] = dataclasses.replace(DECLARED["test8"], compare_leak=False)
# The twelfth, what was chosen after all eleven (before any of its models was audited): the same,
# with each probe's |loss change| counted up to 1 in the flip loss the regression compares
# (`flip_loss_cap`). Round 11's four missed plant subsets each had a few faces with very large
# loss changes, which widened the paired interval; on the eleven seen rounds at 64 probes the cap
# catches 138 of 140 plant subsets (uncapped 131; caps 0.7-1.2 give 137-138), none of 160 null
# subsets failing (at 128 probes 70 of 70 and 1 of 80, as against 70 and 0 uncapped).
DECLARED["test12"] = dataclasses.replace(
    DECLARED["test11"], section={**DECLARED["test11"].section, "flip_loss_cap": 1.0}
)
# The thirteenth, what was chosen after all twelve (before any of its models was trained): the
# same section and margins, with the report leading with the moved share (each face's loss
# change counted in full from defaults.MOVE = 0.2 on, ties by the flip loss) in place of the flip
# rate. On the twelve seen rounds it ranks 37 of 39 plants first (the flip rate 34; a bound of
# 0.08-0.3 gives 37-38, 1 gives 36, none 34), every one in the top 3.
DECLARED["test13"] = dataclasses.replace(DECLARED["test12"], headline="lead")
# The fourteenth, the same again (round 13 changed nothing): the lead's test on more plants.
DECLARED["test14"] = DECLARED["test13"]
# The fifteenth: the push as the lead (chosen on the fourteen seen rounds), the rest as round 14.
DECLARED["test15"] = dataclasses.replace(DECLARED["test14"], headline="lead_push")
# The sixteenth, the same again (round 15 changed nothing): the push and the section on more models.
DECLARED["test16"] = DECLARED["test15"]


@dataclass(frozen=True)
class Goal:
    goal: str
    measured: str
    met: bool


def goals(
    audits: Sequence[Audit],
    section: RegressionSection,
    margins: dict[str, float],
    headline: str = "w",
    leak: bool = True,
    compare_leak: bool = False,
) -> list[Goal]:
    """The declared goals on a half's audits, each with its figures and whether it is met;
    `leak`: whether the flip figures leave out the flips that redraw the label, `compare_leak`
    whether the regression gates do."""
    plants = [a for a in audits if a.kind == "plant" and a.shortcut]
    ranks = [rank(p, headline, p.shortcut, leak) for p in plants if p.shortcut]
    first, top3 = sum(r == 1 for r in ranks), sum(r <= 3 for r in ranks)
    plant_pairs, null_pairs = pairs_of(audits)
    weak_pairs = [p for p in plant_pairs if p[1].band == "weak"]
    caught = gate_rates(section, plant_pairs, GOAL_PROBES, compare_leak)
    weak = gate_rates(section, weak_pairs, GOAL_PROBES, compare_leak)
    alarms = gate_rates(section, null_pairs, GOAL_PROBES, compare_leak)
    out = [
        Goal(f"{headline} ranks the shortcut first >= 90%, top 3 in all",
             f"{first}/{len(ranks)}, {top3}/{len(ranks)}",
             bool(ranks) and first >= 0.9 * len(ranks) and top3 == len(ranks)),
        Goal(f"compare control plant fails >= 90% (weak >= 80%), {GOAL_PROBES} probes",
             f"{caught[0]}/{caught[1]} (weak {weak[0]}/{weak[1]})", powerful(caught, weak)),
        Goal(f"compare control control2 fails <= 5%, {GOAL_PROBES} probes",
             f"{alarms[0]}/{alarms[1]}", alarms[1] > 0 and quiet(alarms)),
    ]  # fmt: skip
    sibling = {f: procedure(audits, f, margins[gate], leak) for f, gate in CALIBRATED.items()}
    out.append(Goal(
        "calibrate fails no truthful sibling",
        ", ".join(f"{f} {r.alarms}/{r.pairs}" for f, r in sibling.items()),
        all(r.pairs > 0 and r.alarms == 0 for r in sibling.values()),
    ))  # fmt: skip
    return out


def goal_lines(found: Sequence[Goal]) -> list[str]:
    lines = ["| goal | measured | verdict |", "|---|---|---|"]
    lines += [f"| {g.goal} | {g.measured} | {'met' if g.met else 'MISSED'} |" for g in found]
    return lines


def plant_table(audits: Sequence[Audit]) -> list[str]:
    """Every plant: its cell, band, held-out accuracies and the rank of its shortcut."""
    lines = [
        "| model | band | clean acc | acc where it disagrees | "
        + " | ".join(f"rank {f}" for f in FIGURES)
        + " |",
        "|---|---|---|---|" + "---|" * len(FIGURES),
    ]
    for a in audits:
        if a.kind != "plant" or a.shortcut is None:
            continue
        ranks = " | ".join(str(rank(a, f, a.shortcut)) for f in FIGURES)
        lines.append(f"| {a.name} | {a.band} | {a.clean_acc:.3f} | {a.disagree_acc:.3f} "
                     f"| {ranks} |")  # fmt: skip
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--half", choices=grid.HALVES, required=True)
    parser.add_argument("--results", type=Path, default=RESULTS)
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128, 256])
    parser.add_argument("--no-gates", action="store_true", help="ranking and thresholds only")
    parser.add_argument("--fresh", action="store_true", help="only the audits not seen "
                        "before the choice, and the controls they are compared with")  # fmt: skip
    args = parser.parse_args()
    torch.set_num_threads(1)
    audits = load_half(args.half, args.results)
    if args.fresh:
        audits = fresh(audits)
        print("fresh: only the audits not seen before the choice, and their seed-1 controls\n")
    plants = [a for a in audits if a.kind == "plant"]
    print(f"{len(audits)} audits: {len(plants)} plants, {len(audits) - len(plants)} controls\n")
    print("\n".join(plant_table(audits)) + "\n")
    print("\n".join(ranking_table(plants)) + "\n")
    print("\n".join(threshold_table(audits, ("w", "s", "flip_rate", "flip_loss"))) + "\n")
    print("\n".join(procedure_table(audits, dict(MARGINS))) + "\n")
    if args.half in DECLARED and not args.no_gates:
        declared = DECLARED[args.half]
        section = declared.regression()
        allowances = ", ".join(f"{k} {v:g}" for k, v in declared.section.items())
        print(f"The declared goals: headline {declared.headline}, {SHIPPED.name}'s regression "
              f"section then ({allowances}):\n")  # fmt: skip
        found = goals(audits, section, declared.calibrate_margins(), declared.headline,
                      declared.leak, declared.compare_leak)  # fmt: skip
        print("\n".join(goal_lines(found)) + "\n")
    if not args.no_gates:
        plant_pairs, null_pairs = pairs_of(audits)
        print("\n".join(gate_table(plant_pairs, null_pairs, args.sizes)) + "\n")
        if args.half != "choose":
            return  # the rule chooses on the choose half only
        # "shipped" in the rule is the section fairness.yaml shipped when the rule was declared
        shipped = RegressionSection(**CANDIDATES["w +0.01, sdar +0.02"])
        print("The declared rule (probe count, then section):\n")
        print("\n".join(choice_lines(decide(plant_pairs, null_pairs, shipped))))


if __name__ == "__main__":
    main()
