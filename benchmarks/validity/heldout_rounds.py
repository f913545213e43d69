"""The held-out rounds side by side: what a regression section and calibrate's margins do on
each round and on all of them pooled, as the tool ships them now.

A CI gate is used on one architecture at a time, so a section is judged by its worst round's
false alarms as well as by the pooled figures. Every round is scored with the rules shipped
now (flips that redraw the label, averaged per class of the label, left out of the flip figures
and compared by the regression gates), so a round's figures here can differ from its own log,
which scored the rules declared for it.

    PYTHONPATH=. .venv/bin/python -m benchmarks.validity.heldout_rounds \
        > docs/logs/heldout_rounds.log
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import torch

from benchmarks.validity import heldout_grid as grid
from benchmarks.validity.heldout_scoring import (
    CALIBRATED,
    COUNTS,
    GOAL_PROBES,
    SHIPPED,
    Audit,
    gate_rates,
    load_half,
    pairs_of,
    procedure,
    rank,
)
from sia_audit.gates.calibrate import MARGINS
from sia_audit.policy import load_policy
from sia_audit.policy.gates import RegressionSection

# The sections compared: the one shipped now, smaller and larger caps on each probe's flip loss,
# the uncapped one it replaced, the one before that, smaller and larger allowances, and the
# relative allowance at 2x.
SECTIONS = {
    "flip_loss +0.05 or 3x the baseline's, each probe up to 1": {
        "flip_loss_increase": 0.05,
        "flip_loss_relative_increase": 3.0,
        "flip_loss_cap": 1.0,
    },
    "flip_loss +0.05 or 3x the baseline's, each probe up to 0.7": {
        "flip_loss_increase": 0.05,
        "flip_loss_relative_increase": 3.0,
        "flip_loss_cap": 0.7,
    },
    "flip_loss +0.05 or 3x the baseline's, each probe up to 2": {
        "flip_loss_increase": 0.05,
        "flip_loss_relative_increase": 3.0,
        "flip_loss_cap": 2.0,
    },
    "flip_loss +0.05 or 3x the baseline's": {
        "flip_loss_increase": 0.05,
        "flip_loss_relative_increase": 3.0,
    },
    "flip_loss +0.05": {"flip_loss_increase": 0.05},
    "flip_loss +0.1": {"flip_loss_increase": 0.1},
    "flip_loss +0.05 or 2x the baseline's": {
        "flip_loss_increase": 0.05,
        "flip_loss_relative_increase": 2.0,
    },
    "flip_loss +0.02 or 3x the baseline's": {
        "flip_loss_increase": 0.02,
        "flip_loss_relative_increase": 3.0,
    },
}


def section_rows(
    rounds: dict[str, list[Audit]], name: str, section: RegressionSection
) -> list[str]:
    """One row per round and one pooled: plant subsets caught (weak), null subsets failed."""
    lines = []
    total = [0, 0, 0, 0, 0, 0]
    worst = (0.0, "none")
    for half, audits in rounds.items():
        plants, nulls = pairs_of(audits)
        weak = [p for p in plants if p[1].band == "weak"]
        got = (
            *gate_rates(section, plants, GOAL_PROBES),
            *gate_rates(section, weak, GOAL_PROBES),
            *gate_rates(section, nulls, GOAL_PROBES),
        )
        total = [t + g for t, g in zip(total, got, strict=True)]
        if got[5] and got[4] / got[5] > worst[0]:
            worst = (got[4] / got[5], f"{got[4]}/{got[5]} ({half})")
        lines.append(f"| {name} | {half} | {got[0]}/{got[1]} | {got[2]}/{got[3]} "
                     f"| {got[4]}/{got[5]} |")  # fmt: skip
    lines.append(f"| {name} | **all** | {total[0]}/{total[1]} | {total[2]}/{total[3]} "
                 f"| {total[4]}/{total[5]}; worst round {worst[1]} |")  # fmt: skip
    return lines


def margin_rows(rounds: dict[str, list[Audit]]) -> list[str]:
    """Per round and calibrated figure: the margin its seed pairs needed, siblings failed at
    the shipped margin."""
    lines = [
        "| round | " + " | ".join(f"{f}: needed, failed at {MARGINS[g]:g}"
                                   for f, g in CALIBRATED.items()) + " |",
        "|---|" + "---|" * len(CALIBRATED),
    ]  # fmt: skip
    for half, audits in rounds.items():
        cells = []
        for f, gate in CALIBRATED.items():
            r = procedure(audits, f, MARGINS[gate])
            cells.append(f"{r.needed:.3f}, {r.alarms}/{r.pairs}" if r.pairs else "-")
        lines.append(f"| {half} | " + " | ".join(cells) + " |")
    return lines


def size_rows(rounds: dict[str, list[Audit]], section: RegressionSection) -> list[str]:
    """Pooled over the rounds, per probe count: plant subsets caught (weak), null subsets failed."""
    lines = ["| probes | plant subsets caught | weak | null subsets failed |", "|---|---|---|---|"]
    for n in COUNTS:
        total = [0] * 6
        for audits in rounds.values():
            plants, nulls = pairs_of(audits)
            weak = [p for p in plants if p[1].band == "weak"]
            got = (*gate_rates(section, plants, n), *gate_rates(section, weak, n),
                   *gate_rates(section, nulls, n))  # fmt: skip
            total = [t + g for t, g in zip(total, got, strict=True)]
        lines.append(f"| {n} | {total[0]}/{total[1]} | {total[2]}/{total[3]} "
                     f"| {total[4]}/{total[5]} |")  # fmt: skip
    return lines


def lead_rows(rounds: dict[str, list[Audit]]) -> list[str]:
    """Per round and pooled: the plants whose shortcut the report's lead (the push) ranks
    first, top 3; and first by the leads before it (the moved share, the flip rate)."""
    lines = [
        "| round | plants | shortcut first | top 3 | first by the moved share "
        "| first by the flip rate |",
        "|---|---|---|---|---|---|",
    ]
    total = [0, 0, 0, 0, 0]
    for half, audits in rounds.items():
        plants = [a for a in audits if a.kind == "plant" and a.shortcut]
        ranks = [rank(a, "lead_push", a.shortcut) for a in plants if a.shortcut]
        moved = [rank(a, "lead", a.shortcut) for a in plants if a.shortcut]
        rate = [rank(a, "lead_rate", a.shortcut) for a in plants if a.shortcut]
        got = (len(ranks), sum(r == 1 for r in ranks), sum(r <= 3 for r in ranks),
               sum(r == 1 for r in moved), sum(r == 1 for r in rate))  # fmt: skip
        total = [t + g for t, g in zip(total, got, strict=True)]
        n = got[0]
        lines.append(f"| {half} | {n} | " + " | ".join(f"{x}/{n}" for x in got[1:]) + " |")
    n = total[0]
    lines.append(f"| **all** | {n} | " + " | ".join(f"{x}/{n}" for x in total[1:]) + " |")
    return lines


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--halves", nargs="+", choices=grid.HALVES, default=list(grid.HALVES))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    rounds = {half: load_half(half) for half in args.halves}
    rounds = {half: audits for half, audits in rounds.items() if audits}
    print(f"rounds: {', '.join(f'{h} ({len(a)} audits)' for h, a in rounds.items())}\n")
    shipped = load_policy(SHIPPED).gates.regression
    sections = {f"{SHIPPED.name} as shipped": shipped} if shipped is not None else {}
    sections.update({name: RegressionSection(**a, use_confidence=True)
                     for name, a in SECTIONS.items()})  # fmt: skip
    print(f"Regression sections at {GOAL_PROBES} probes (disjoint subsets), flips that redraw "
          "the label compared (its exclusive partners left out):\n")  # fmt: skip
    print("| section | round | plant subsets caught | weak | null subsets failed |")
    print("|---|---|---|---|---|")
    for name, section in sections.items():
        print("\n".join(section_rows(rounds, name, section)))
    if shipped is not None:
        print(f"\n{SHIPPED.name}'s section as shipped, by probe count (disjoint subsets):\n")
        print("\n".join(size_rows(rounds, shipped)))
    print("\nThe report's lead (the push, ties by the flip loss; flips that redraw the label "
          "left out):\n")  # fmt: skip
    print("\n".join(lead_rows(rounds)))
    print("\ncalibrate, set on one seed and checked on the other (256 probes):\n")
    print("\n".join(margin_rows(rounds)))


if __name__ == "__main__":
    main()
