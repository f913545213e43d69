"""The held-out grid's split: no label or architecture serves two halves."""

from __future__ import annotations

import pytest

from benchmarks.validity import heldout_grid as grid
from benchmarks.validity.heldout_nets import NETS
from benchmarks.validity.heldout_suite import LOOPS
from sia_audit.probes.synthfaces.attributes import ATTRIBUTES, HAIR_COLOURS


def test_every_label_and_architecture_belongs_to_one_half() -> None:
    for half in grid.HALVES:
        cells = grid.cells(half)
        assert cells, half
        assert {arch.half for arch, _ in cells} == {half}
        if half not in grid.REUSED:
            assert {grid.LABELS[label][0] for _, label in cells} == {half}
    labels = [label for label, (half, _) in grid.LABELS.items()]
    assert len(labels) == len(set(labels))
    by_half = {h: {a.net for a in grid.ARCHS if a.half == h} for h in grid.HALVES}
    for h in grid.HALVES:
        for other in grid.HALVES:
            assert other == h or not by_half[h] & by_half[other]


def new_net_and_loop(half: str, key: str) -> tuple[str, ...]:
    """Checks that a later round's one architecture and its loop are new; returns the rounds
    before it."""
    cells = grid.cells(half)
    assert {arch.key for arch, _ in cells} == {key}
    before = grid.HALVES[: grid.HALVES.index(half)]
    seen = [arch for arch in grid.ARCHS if arch.half in before]
    assert {arch.loop for arch, _ in cells}.isdisjoint({arch.loop for arch in seen})
    assert {arch.net for arch, _ in cells}.isdisjoint({arch.net for arch in seen})
    return before


@pytest.mark.parametrize(("half", "key"), [("test3", "rgx"), ("test4", "shf")])
def test_each_new_round_brings_a_new_loop_and_net_and_only_unseen_labels(
    half: str, key: str
) -> None:
    before = new_net_and_loop(half, key)
    earlier = {label for label, (h, _) in grid.LABELS.items() if h in before}
    assert not {label for _, label in grid.cells(half)} & earlier


@pytest.mark.parametrize(
    ("half", "key"),
    [
        ("test5", "mnv2"),
        ("test6", "ggl"),
        ("test7", "eff"),
        ("test8", "sqz"),
        ("test9", "mnas1"),
        ("test10", "regy"),
        ("test11", "mnv3l"),
        ("test12", "dn12"),
        ("test13", "cnx"),
        ("test14", "vgg"),
    ],
)
def test_a_round_on_used_labels_brings_a_new_loop_and_net_and_new_shortcuts(
    half: str, key: str
) -> None:
    before = new_net_and_loop(half, key)
    for label, shortcuts in grid.labels(half).items():
        planted = {s for h in before for s in grid.labels(h).get(label, ())}
        assert planted, label  # a used label
        assert planted.isdisjoint(shortcuts), label


def test_shortcuts_are_other_attributes_outside_the_labels_group() -> None:
    pairs = [(label, s, 2) for label, (_, s) in grid.LABELS.items()]
    # a label that trains more seeds in place of its plant searches may keep one or none
    pairs += [(label, s, 0 if label in grid.MORE_SEEDS.get(half, {}) else 2)
              for half, later in grid.REUSED.items() for label, s in later.items()]  # fmt: skip
    for label, shortcuts, least in pairs:
        assert len(set(shortcuts)) == len(shortcuts) >= least and label not in shortcuts
        assert set(shortcuts) <= set(ATTRIBUTES)
        if label in HAIR_COLOURS:
            assert not set(shortcuts) & set(HAIR_COLOURS)


def test_every_architecture_has_its_net_and_loop() -> None:
    for arch in grid.ARCHS:
        assert arch.net in NETS and arch.loop in LOOPS
