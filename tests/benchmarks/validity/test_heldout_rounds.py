"""The rounds side by side: per-round rows, a pooled row and the worst round's false alarms."""

from __future__ import annotations

import dataclasses

import torch

from benchmarks.validity.heldout_rounds import lead_rows, margin_rows, section_rows, size_rows
from sia_audit.policy.gates import RegressionSection
from tests.benchmarks.validity.test_heldout_scoring import audit


def noisy(a, seed: int):
    """The same audit, with its control's flips moved on a third of the probes for Bangs."""
    t = a.table
    loss = t.flip_loss.clone()
    loss[::3, 1] += 0.5
    return dataclasses.replace(a, seed=seed, name=f"{a.name}-{seed}",
                               table=dataclasses.replace(t, flip_loss=loss))  # fmt: skip


def test_rows_per_round_then_pooled_with_the_worst_rounds_alarms() -> None:
    control = audit("c1", "control", 1, None, "control")
    quiet = [control, audit("c2", "control", 2, None, "control"),
             audit("p", "plant", 1, "Mustache", "weak")]  # fmt: skip
    loud = [control, noisy(audit("c2", "control", 2, None, "control"), 2),
            audit("p", "plant", 1, "Mustache", "strong")]  # fmt: skip
    rows = section_rows({"one": quiet, "two": loud}, "flip", RegressionSection(
        flip_loss_increase=0.05))  # fmt: skip
    assert rows == [
        "| flip | one | 1/1 | 1/1 | 0/1 |",
        "| flip | two | 1/1 | 0/0 | 1/1 |",
        "| flip | **all** | 2/2 | 1/1 | 1/2; worst round 1/1 (two) |",
    ]


def test_margin_rows_name_every_round_and_figure() -> None:
    quiet = [audit("c1", "control", 1, None, "control"), audit("c2", "control", 2, None, "control")]
    lines = margin_rows({"one": quiet})
    assert lines[0].startswith("| round | w: needed, failed at 0.04 | s: needed, failed at 0.11")
    assert lines[2].startswith("| one | ") and lines[2].count("/2") == 3


def test_lead_rows_count_plants_led_by_their_shortcut_per_round_and_pooled() -> None:
    from benchmarks.validity.heldout_scoring import rank

    control = audit("c1", "control", 1, None, "control")
    plant = audit("p", "plant", 1, "Mustache", "weak")  # Mustache's flips move its answers most
    other = dataclasses.replace(plant, shortcut="Bangs")  # named a shortcut that does not lead
    second = rank(other, "lead_push", "Bangs")
    assert second > 1 and rank(other, "lead", "Bangs") > 1 and rank(other, "lead_rate", "Bangs") > 1
    assert lead_rows({"one": [control, plant], "two": [control, other]})[2:] == [
        "| one | 1 | 1/1 | 1/1 | 1/1 | 1/1 |",
        f"| two | 1 | 0/1 | {int(second <= 3)}/1 | 0/1 | 0/1 |",
        f"| **all** | 2 | 1/2 | {1 + int(second <= 3)}/2 | 1/2 | 1/2 |",
    ]
    # a plant the push leads and the moved share does not counts in the first column only
    loss = plant.table.flip_loss.clone()
    loss[:, 1] = torch.tensor([1.0, -1.0]).repeat(32)  # Bangs moves every face, both ways
    both = dataclasses.replace(plant, table=dataclasses.replace(plant.table, flip_loss=loss))
    assert lead_rows({"one": [control, both]})[2] == "| one | 1 | 1/1 | 1/1 | 0/1 | 1/1 |"


def test_size_rows_pool_the_rounds_per_probe_count() -> None:
    control = audit("c1", "control", 1, None, "control")
    quiet = [control, audit("c2", "control", 2, None, "control"),
             audit("p", "plant", 1, "Mustache", "weak")]  # fmt: skip
    n = len(control.table.names)
    section = RegressionSection(flip_loss_increase=0.05)
    rows = size_rows({"one": quiet, "two": quiet}, section)
    assert rows[0] == "| probes | plant subsets caught | weak | null subsets failed |"
    by_count = {int(r.split(" | ")[0].strip("| ")): r for r in rows[2:]}
    assert sorted(by_count) == [64, 128, 256]
    for count, row in by_count.items():
        subsets = 2 * (n // count)  # two rounds, each with one plant pair and one null pair
        assert row.count(f"/{subsets}") == 3, row
