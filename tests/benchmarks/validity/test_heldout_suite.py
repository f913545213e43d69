"""The held-out suite: which cells and shortcuts a run trains, in what order, and its cache."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks.validity import heldout_grid as grid
from benchmarks.validity import heldout_suite as suite


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[tuple[str, str, str | None]]:
    """Record what train_half asks for instead of training; CACHE is an empty folder."""
    seen: list[tuple[str, str, str | None]] = []
    monkeypatch.setattr(suite, "CACHE", tmp_path)
    monkeypatch.setattr(
        suite,
        "train",
        lambda rec, arch, log: seen.append((arch.key, rec.label, rec.shortcut)) or {"models": {}},
    )
    monkeypatch.setattr(
        suite, "tune", lambda arch, label, attr, log: seen.append((arch.key, label, attr)) or []
    )
    return seen


def _save_controls(root: Path, arch: str, label: str) -> None:
    (root / "models").mkdir(exist_ok=True)
    for seed in grid.CONTROL_SEEDS:
        (root / "models" / f"{arch}_{label}_control_s{seed}.pt").write_bytes(b"")


def test_plants_only_trains_both_shortcuts_of_cells_with_a_null_pair(
    calls: list[tuple[str, str, str | None]], tmp_path: Path
) -> None:
    _save_controls(tmp_path, "cnn", "Male")
    (tmp_path / "models" / "cnn_Bald_control_s1.pt").write_bytes(b"")  # half a pair: skipped
    suite.train_half("choose", print, ["cnn"], plants_only=True)
    assert calls == [("cnn", "Male", "Smiling"), ("cnn", "Male", "Pale_Skin")]


def test_plants_only_trains_nothing_without_a_null_pair(
    calls: list[tuple[str, str, str | None]],
) -> None:
    suite.train_half("test", print, (), plants_only=True)
    assert calls == []


def test_a_full_run_trains_controls_before_the_first_plants_then_the_second(
    calls: list[tuple[str, str, str | None]],
) -> None:
    suite.train_half("choose", print, ["mnv3"])
    labels = [label for label, (half, _) in grid.LABELS.items() if half == "choose"]
    expected: list[tuple[str, str, str | None]] = []
    for label in labels:
        expected += [("mnv3", label, None)] * len(grid.CONTROL_SEEDS)
        expected.append(("mnv3", label, grid.LABELS[label][1][0]))
    expected += [("mnv3", label, grid.LABELS[label][1][1]) for label in labels]
    assert calls == expected


def test_labels_split_a_half_between_two_processes(
    calls: list[tuple[str, str, str | None]],
) -> None:
    suite.train_half("test3", print, (), labels=["Blond_Hair", "Young"])
    assert {label for _, label, _ in calls} == {"Young", "Blond_Hair"}
    assert [label for _, label, shortcut in calls if shortcut is None] == ["Young"] * 2 + [
        "Blond_Hair"
    ] * 2  # the grid's order, whatever order they were named in


def test_labels_split_a_halfs_audits_between_two_processes(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(suite, "CACHE", tmp_path)
    pairs = [
        (label, kind) for label in ("Eyeglasses", "Black_Hair") for kind in ("plant", "control")
    ]
    models = [{"label": label, "kind": kind, "file": f"{label}_{kind}.pt"} for label, kind in pairs]
    monkeypatch.setattr(suite, "trained", lambda half: models)
    audited: list[str] = []
    monkeypatch.setattr(suite, "audit", lambda model, log, threads: audited.append(model["file"]))
    suite.audit_half("test13", print, 1, ["Black_Hair"])
    assert audited == ["Black_Hair_control.pt", "Black_Hair_plant.pt"]  # controls first
    audited.clear()
    suite.audit_half("test13", print, 1)
    assert sorted(audited) == sorted(m["file"] for m in models)


def test_a_label_with_more_seeds_trains_them_and_only_its_own_shortcuts(
    calls: list[tuple[str, str, str | None]],
) -> None:
    suite.train_half("test8", print)
    assert grid.control_seeds("test8", "Smiling") == grid.CONTROL_SEEDS
    assert grid.control_seeds("test8", "Mouth_Slightly_Open") == (*grid.CONTROL_SEEDS, 3, 4)
    assert calls == [("sqz", "Smiling", None)] * 2 + [("sqz", "Smiling", "Pale_Skin")] + [
        ("sqz", "Mouth_Slightly_Open", None)
    ] * 4 + [("sqz", "Mouth_Slightly_Open", "Bangs"), ("sqz", "Smiling", "Black_Hair")]
    calls.clear()
    suite.train_half("test9", print)
    # a label without a search: its seeds only
    assert calls == [("mnas1", "Mustache", None)] * 4 + [("mnas1", "Young", None)] * 2 + [
        ("mnas1", "Young", "Mustache"),
        ("mnas1", "Young", "Wearing_Lipstick"),
    ]


def _record(name: str, disagree: float, band: str | None = None) -> dict:
    return {"name": name, "trajectory": [[grid.FIRST_CHECK, 0.92, disagree]],
            "models": {band: {"file": f"{name}.{band}.pt"}} if band else {}}  # fmt: skip


@pytest.mark.parametrize(
    ("weakest_disagree", "found", "expected"),
    [
        (0.6, [None, None], ["r1_p0.7", "r1_p0.6"]),  # used too much: both weaker pulls
        (0.6, ["weak", None], ["r1_p0.7"]),  # a band at the first: stop there
        (0.9, [None, None], []),  # the weakest LEVELS pull was not used: nothing weaker
    ],
)
def test_weaker_pulls_follow_only_a_search_that_overused_its_shortcut(
    monkeypatch: pytest.MonkeyPatch,
    weakest_disagree: float,
    found: list[str | None],
    expected: list[str],
) -> None:
    arch = next(a for a in grid.ARCHS if a.key == "shf")
    weakest = suite.recipe(arch, "Brown_Hair", "Mustache", grid.LEVELS[0], 1).name
    monkeypatch.setattr(suite, "tune", lambda *args: [_record(weakest, weakest_disagree)])
    trained: list[str] = []

    def train(rec, arch, log) -> dict:  # noqa: ANN001 - the suite's signature
        trained.append(rec.name.removeprefix("shf_Brown_Hair_Mustache_"))
        return _record(rec.name, 0.5, found[len(trained) - 1])

    monkeypatch.setattr(suite, "train", train)
    suite.weaker(arch, "Brown_Hair", "Mustache", print)
    assert trained == expected


def test_a_round_with_more_seeds_trains_every_control_before_its_plants(
    calls: list[tuple[str, str, str | None]],
) -> None:
    suite.train_half("test6", print)
    [(label, shortcuts)] = grid.labels("test6").items()
    seeds = grid.control_seeds("test6", label)
    assert len(seeds) == 4 and seeds[:2] == grid.CONTROL_SEEDS
    assert calls == [("ggl", label, None)] * 4 + [("ggl", label, s) for s in shortcuts]


def _pack(results: Path, name: str, band: str, sha: str, arch: str = "mnas1") -> dict:
    """Pack one model as an audit packs it (the record merged with one band's model, as
    `_saved` lists it, and its report); returns the record."""
    file = f"{name}.pt" if band == "control" else f"{name}.{band}.pt"
    model = {"file": file, "steps": 500, "clean_acc": 0.91}
    record = {"name": name, "arch": arch, "label": "Young", "shortcut": None, "seed": 2,
              "trajectory": [[100, 0.9, 0.8]], "models": {band: model},
              "train_seconds": 9.0}  # fmt: skip
    report = results.parent / "made" / name / "report.json"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(json.dumps({"provenance": {"generator_sha256": sha}, "figures": {}}))
    packed = suite.pack({**record, "kind": "control", "band": band, **model}, report)
    assert packed.parent == results
    return record


def test_a_lost_cache_is_refilled_from_the_packs_of_its_generator_only(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(suite, "CACHE", tmp_path / "cache")
    monkeypatch.setattr(suite, "RESULTS", tmp_path / "packs")
    mine = _pack(tmp_path / "packs", "mnas1_Young_control_s2", "control", "aaa")
    _pack(tmp_path / "packs", "mnas1_Young_control_s1", "control", "bbb")  # another generator
    _pack(tmp_path / "packs", "r18_Young_control_s1", "control", "aaa", arch="r18")  # not test9
    lines: list[str] = []

    assert suite.restore("test9", "aaa", lines.append) == 2
    models = tmp_path / "cache" / "models"
    assert sorted(p.name for p in models.iterdir()) == ["mnas1_Young_control_s2.train.json"]
    assert json.loads((models / "mnas1_Young_control_s2.train.json").read_text()) == mine
    report = tmp_path / "cache" / "reports" / "mnas1_Young_control_s2" / "report.json"
    assert json.loads(report.read_text())["provenance"] == {"generator_sha256": "aaa"}
    assert len(lines) == 1

    arch = next(a for a in grid.ARCHS if a.key == "mnas1")
    rec = suite.recipe(arch, "Young", None, grid.LEVELS[0], 2)
    assert suite.train(rec, arch, print) == mine  # not trained again
    assert suite.restore("test9", "aaa", lines.append) == 0  # nothing overwritten
    assert len(lines) == 1


def test_auditing_a_restored_model_whose_band_was_never_packed_says_how_to_retrain(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(suite, "CACHE", tmp_path / "cache")
    monkeypatch.setattr(suite, "RESULTS", tmp_path / "packs")
    model = {"name": "mnas1_Young_Mustache_r1_p1", "file": "mnas1_Young_Mustache_r1_p1.weak.pt"}
    with pytest.raises(SystemExit, match="delete mnas1_Young_Mustache_r1_p1.train.json"):
        suite.audit(model, print, 1)


def test_a_try_without_a_band_is_kept_beside_the_packs_and_restored(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A search's next try is decided by its last try's record; that try has no model, so no
    pack: the record itself is kept, stamped with the generator, and comes back after a loss."""
    monkeypatch.setattr(suite, "CACHE", tmp_path / "cache")
    monkeypatch.setattr(suite, "RESULTS", tmp_path / "packs")
    monkeypatch.setattr(suite, "shipped_generator", lambda: tmp_path / "gen.pt")
    (tmp_path / "gen.pt").write_bytes(b"generator")
    monkeypatch.setattr(suite, "train_classifier", lambda *a, **k: None)
    arch = next(a for a in grid.ARCHS if a.key == "mnas1")
    rec = suite.recipe(arch, "Young", "Mustache", grid.LEVELS[grid.FIRST], grid.PLANT_SEED)
    record = suite.train(rec, arch, print)  # no check was reached: no band, no model
    assert record["models"] == {}
    kept = tmp_path / "packs" / suite.TRIES / f"{rec.name}.train.json"
    sha = suite.sha256_of(tmp_path / "gen.pt")
    assert json.loads(kept.read_text()) == {**record, "generator_sha256": sha}

    (tmp_path / "cache" / "models" / f"{rec.name}.train.json").unlink()  # the cache is lost
    assert suite.restore("test9", "another generator", print) == 0
    assert suite.restore("test9", sha, print) == 1
    assert suite.train(rec, arch, print) == record  # the search goes on from it


def test_a_later_round_swaps_a_weakly_learnt_labels_searches_for_more_seeds(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """From round 12 on: a label whose first control ends below CLEAN_MIN trains seeds 3 and 4
    in place of its searches; a label learnt well searches as before."""
    monkeypatch.setattr(grid, "HALVES", (*grid.HALVES, "test99"))
    monkeypatch.setattr(grid, "ARCHS", (*grid.ARCHS, grid.Arch("nx", "cnn", "fit", "test99")))
    monkeypatch.setitem(grid.REUSED, "test99", {"Smiling": ("Bangs", "Young"), "Male": ("Young",)})
    monkeypatch.setattr(suite, "CACHE", tmp_path)
    learnt = {"Smiling": grid.CLEAN_MIN - 0.01, "Male": grid.CLEAN_MIN}
    seen: list[tuple[str, str | None, int]] = []

    def train(rec, arch, log) -> dict:
        seen.append((rec.label, rec.shortcut, rec.seed))
        return {"models": {"control": {"clean_acc": learnt[rec.label]}}}

    monkeypatch.setattr(suite, "train", train)
    monkeypatch.setattr(suite, "tune", lambda arch, label, attr, log: seen.append((label, attr, 1)))
    lines: list[str] = []
    suite.train_half("test99", lines.append)
    assert seen == [("Smiling", None, s) for s in (1, 2, 3, 4)] + [
        ("Male", None, 1), ("Male", None, 2), ("Male", "Young", 1)
    ]  # fmt: skip
    assert any("Smiling: seed 1 learnt it to 0.890" in line for line in lines)
    assert grid.control_seeds("test99", "Male") == (1, 2, 3, 4)  # seeds 3, 4 have no model
    assert not grid.auto_seeds("test11") and grid.control_seeds("test11", "Eyeglasses") == (1, 2)
