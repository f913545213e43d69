"""The push's bound table: what each bound counts, and the rows it prints."""

from __future__ import annotations

import dataclasses

import pytest
import torch

from benchmarks.validity.push_bounds import RESAMPLES, first, push_at, row
from tests.benchmarks.validity.test_heldout_scoring import NAMES, audit


def test_a_bound_counts_a_face_in_full_from_it_on_and_the_sign_alone_at_zero() -> None:
    plant = audit("p", "plant", 1, "Mustache", "weak")
    moves = torch.tensor([[0.1, -0.02, 0, 0, 0], [0.1, 0.04, 0, 0, 0]], dtype=torch.float64)
    t = dataclasses.replace(plant.table, toward=moves)
    both = torch.arange(2)
    assert push_at(0.05)(t, both)[:2].tolist() == pytest.approx([1.0, 0.2])
    assert push_at(0)(t, both)[:2].tolist() == [1.0, 0.0]  # one face each way
    assert push_at(None)(t, both)[:2].tolist() == pytest.approx([0.1, 0.01])


def test_rows_count_firsts_and_how_steadily_the_shortcut_stays_first() -> None:
    plant = audit("p", "plant", 1, "Mustache", "weak")  # its flips move the answer toward +
    assert first(plant, push_at(0.05)(plant.table, torch.arange(len(plant.table.names))))
    n = len(plant.table.names)
    draws = {plant.name: torch.randint(0, n, (RESAMPLES, n), generator=torch.Generator())}
    line = row("push", push_at(0.05), [plant], draws)
    assert line.startswith("| push | 1/1 | 1/1 | 1/1 | ")
    # a rival that moves every face one way, past the bound, takes the lead
    toward = plant.table.toward.clone()
    toward[:, NAMES.index("Bangs")] = 1.0
    rival = dataclasses.replace(plant, table=dataclasses.replace(plant.table, toward=toward))
    assert row("push", push_at(0.05), [rival], draws).startswith(
        "| push | 0/1 | 1/1 | 0/1 | 0.000 |"
    )
