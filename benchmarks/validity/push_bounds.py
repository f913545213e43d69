"""The push's bound, chosen on seen rounds: how often each bound ranks the planted shortcut first.

The push signs each flip's loss change by the way it moves a binary target's answer (+ toward
the positive class as the attribute turns on) and counts a face in full from a bound on
(sia_audit.defaults.PUSH_MOVE). Per bound, over the plants of the rounds given (default: every
round but the last, the one the choice is tested on): the plants whose shortcut it ranks first,
in the top 3, the weak plants first, and how steadily: the share of bootstrap resamples of the
probes in which the shortcut stays first, averaged over the plants and at its lowest. The
moved share (the lead before) and the flip rate are scored beside it.

    PYTHONPATH=. .venv/bin/python -m benchmarks.validity.push_bounds \
        > docs/logs/heldout_push_bounds.log
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence

import torch
from torch import Tensor

from benchmarks.validity import heldout_grid as grid
from benchmarks.validity.heldout_scoring import Audit, ScoredTable, load_half
from sia_audit.defaults import PUSH_MOVE
from sia_audit.metrics.counterfactual import moved_share

BOUNDS = (0.01, 0.02, 0.03, 0.05, 0.07, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0)
RESAMPLES = 200

Score = Callable[[ScoredTable, Tensor], Tensor]  # per attribute, from the probes idx


def push_at(bound: float | None) -> Score:
    """The push counting a face in full from `bound` on (None: no bound, the mean signed loss
    change; 0: the sign alone)."""

    def score(t: ScoredTable, idx: Tensor) -> Tensor:
        assert t.toward is not None
        moves = t.toward[idx]
        if bound is None:
            return moves.mean(dim=0).abs()
        if bound == 0:
            return torch.sign(moves).mean(dim=0).abs()
        return (moves / bound).clamp(-1.0, 1.0).mean(dim=0).abs()

    return score


def _moved(t: ScoredTable, idx: Tensor) -> Tensor:
    assert t.flip_loss is not None
    return moved_share(t.flip_loss[idx]).mean(dim=0)


def _rate(t: ScoredTable, idx: Tensor) -> Tensor:
    assert t.flip_changed is not None
    return t.flip_changed[idx].double().mean(dim=0)


def first(a: Audit, values: Tensor) -> bool:
    """Whether the shortcut alone holds the largest value among the attributes the flip figures
    rank (a tie counts against it)."""
    t, shortcut = a.table, a.shortcut
    assert shortcut is not None
    k = t.attributes.index(shortcut)
    others = [t.attributes.index(b) for b in a.ranked_by("moved") if b != shortcut]
    return bool((values[k] > values[others]).all())


def top3(a: Audit, values: Tensor) -> bool:
    t, shortcut = a.table, a.shortcut
    assert shortcut is not None
    k = t.attributes.index(shortcut)
    others = [t.attributes.index(b) for b in a.ranked_by("moved") if b != shortcut]
    return int((values[others] >= values[k]).sum()) < 3


def row(name: str, score: Score, plants: Sequence[Audit], draws: dict[str, Tensor]) -> str:
    full = [score(a.table, torch.arange(len(a.table.names))) for a in plants]  # type: ignore[arg-type]
    n = len(plants)
    firsts = sum(first(a, v) for a, v in zip(plants, full, strict=True))
    tops = sum(top3(a, v) for a, v in zip(plants, full, strict=True))
    weak = [first(a, v) for a, v in zip(plants, full, strict=True) if a.band == "weak"]
    steady = torch.tensor(
        [
            sum(first(a, score(a.table, idx)) for idx in draws[a.name]) / RESAMPLES  # type: ignore[arg-type]
            for a in plants
        ]
    )
    return (
        f"| {name} | {firsts}/{n} | {tops}/{n} | {sum(weak)}/{len(weak)} | "
        f"{float(steady.mean()):.3f} | {float(steady.min()):.2f} |"
    )


def _push(a: Audit) -> dict[str, float]:
    """The push at the shipped bound of every attribute the flip figures rank."""
    t = a.table
    values = push_at(PUSH_MOVE)(t, torch.arange(len(t.names)))  # type: ignore[arg-type]
    return {b: float(values[t.attributes.index(b)]) for b in a.ranked_by("moved")}


def largest(a: Audit, but: str | None = None) -> float:
    return max(v for b, v in _push(a).items() if b != but)


def of_shortcut(a: Audit) -> float:
    assert a.shortcut is not None
    return _push(a)[a.shortcut]


def scale_row(name: str, values: Sequence[float]) -> str:
    v = sorted(values)
    return f"| {name} | {len(v)} | {v[0]:.3f} | {v[len(v) // 2]:.3f} | {v[-1]:.3f} |"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--halves", nargs="+", choices=grid.HALVES, default=list(grid.HALVES[:-1]))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    plants = [a for h in args.halves for a in load_half(h) if a.kind == "plant" and a.shortcut]
    g = torch.Generator().manual_seed(0)
    draws = {
        a.name: torch.randint(0, len(a.table.names), (RESAMPLES, len(a.table.names)), generator=g)
        for a in plants
    }
    print(f"rounds: {', '.join(args.halves)}; {len(plants)} plants; {RESAMPLES} resamples each\n")
    print(
        "| figure | shortcut first | top 3 | weak plants first | steadily first (mean) | (lowest) |"
    )
    print("|---|---|---|---|---|---|")
    print(row("push, the sign alone (bound 0)", push_at(0), plants, draws))
    for bound in BOUNDS:
        print(row(f"push, bound {bound:g}", push_at(bound), plants, draws))
    print(row("push, no bound (mean signed loss change)", push_at(None), plants, draws))
    print(row("moved share (bound 0.2)", _moved, plants, draws))
    print(row("flip rate", _rate, plants, draws))
    controls = [a for h in args.halves for a in load_half(h) if a.kind == "control"]
    print(f"\nThe push at the shipped bound {PUSH_MOVE:g}, its scale:\n")
    print("| models | n | least | median | most |")
    print("|---|---|---|---|---|")
    print(scale_row("controls: their largest push", [largest(a) for a in controls]))
    print(scale_row("plants: the shortcut's push", [of_shortcut(a) for a in plants]))
    print(scale_row("plants: the largest other push", [largest(a, a.shortcut) for a in plants]))


if __name__ == "__main__":
    main()
