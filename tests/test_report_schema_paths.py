"""The report readers a regression reads through, field by field and damage by damage.

A comparison trusts what these readers hand it: every per-probe array must come back as saved,
in probe order, and any damage must be refused with the path of what is damaged (the full
`path: problem` is compared, so a reader that names the wrong key fails here).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from sia_audit import report_schema as rs
from sia_audit.report_schema.fields import Node, damaged
from sia_audit.report_schema.figures import EstimateRecord, GroupRecord, estimates
from sia_audit.report_schema.per_attribute import BY_KEY, headline, ordered
from sia_audit.report_schema.report import non_finite

DATA = Path(__file__).parent / "formats" / "data" / "report.json"


def fixed() -> dict[str, Any]:
    """The fixed report with every per-probe array a regression reads (w's and the flips')."""
    d = json.loads(DATA.read_text(encoding="utf-8"))
    p = d["probes"]
    n, k = len(p["names"]), len(p["attributes"])
    p["loss_start"] = [i / 10 for i in range(n)]  # not all exact in float32
    p["effects"] = [[(i + j) / 16 for j in range(k)] for i in range(n)]
    p["flip_loss"] = [[(i - j) / 32 for j in range(k)] for i in range(n)]
    p["flip_changed"] = [[(i + j) % 3 == 0 for j in range(k)] for i in range(n)]
    return d


def test_the_per_probe_block_comes_back_as_saved() -> None:
    d = fixed()
    p = rs.ReportRecord(d).probes
    saved = d["probes"]
    for key in (
        "attack",
        "names",
        "attributes",
        "frozen",
        "correct_clean",
        "correct_reconstruction",
        "correct_adversary",
        "loss_adversary",
        "loss_start",
    ):
        assert list(getattr(p, key)) == saved[key] if key != "attack" else p.attack == saved[key]
    for key in ("a0", "delta", "effects", "flip_loss", "flip_changed"):
        assert [list(row) for row in getattr(p, key)] == saved[key], key
    assert rs.ReportRecord(d).main_attack == saved["attack"]  # fmt: skip


def test_older_per_probe_blocks_read_their_missing_arrays_as_none() -> None:
    d = json.loads(DATA.read_text(encoding="utf-8"))
    d["probes"]["loss_adversary"] = None
    p = rs.ReportRecord(d).probes
    assert (p.loss_adversary, p.loss_start, p.effects, p.flip_loss, p.flip_changed) == (
        None, None, None, None, None
    )  # fmt: skip
    d["probes"].update(flip_changed=None, effects=None)
    p = rs.ReportRecord(d).probes
    assert (p.effects, p.flip_changed) == (None, None)


def at(d: dict, path: str) -> tuple[Any, Any]:
    """The container and key of a dotted path like probes.flip_changed[2][1]."""
    parts = [int(x) if x.isdigit() else x for x in re.findall(r"[^.\[\]]+", path)]
    parent = d
    for key in parts[:-1]:
        parent = parent[key]
    return parent, parts[-1]


@pytest.mark.parametrize(
    ("path", "value", "detail"),
    [
        ("probes.loss_start[2]", "x", "probes.loss_start[2]: expected a number, got str"),
        ("probes.loss_adversary[1]", None, "probes.loss_adversary[1]: expected a number, got null"),
        ("probes.loss_start", [0.0], "probes.loss_start: 1 entries for 6 probes"),
        ("probes.loss_adversary", [0.0], "probes.loss_adversary: 1 entries for 6 probes"),
        ("probes.effects[3]", [0.0], "probes.effects[3]: expected a list of 15 numbers"),
        ("probes.effects[3][4]", True, "probes.effects[3][4]: expected a number, got bool"),
        ("probes.effects", [[0.0] * 15], "probes.effects: 1 entries for 6 probes"),
        ("probes.flip_loss[0]", "row", "probes.flip_loss[0]: expected a list of 15 numbers"),
        ("probes.flip_changed[2]", [True],
         "probes.flip_changed[2]: expected a list of 15 booleans"),
        ("probes.flip_changed[2]", "row",
         "probes.flip_changed[2]: expected a list of 15 booleans"),
        ("probes.flip_changed[2][1]", 1,
         "probes.flip_changed[2][1]: expected true or false, got int"),
        ("probes.flip_changed", [[True] * 15], "probes.flip_changed: 1 entries for 6 probes"),
        ("probes.flip_changed", {}, "probes.flip_changed: expected a list, got dict"),
        ("probes.correct_adversary[5]", 0,
         "probes.correct_adversary[5]: expected true or false, got int"),
        ("probes.names[0]", 7, "probes.names[0]: expected text, got int"),
        ("probes.attack", None, "probes.attack: expected text, got null"),
    ],
)  # fmt: skip
def test_damaged_per_probe_data_names_its_path(path: str, value: Any, detail: str) -> None:
    d = fixed()
    parent, key = at(d, path)
    parent[key] = value
    with pytest.raises(rs.SchemaError) as caught:
        rs.ReportRecord(d).probes  # noqa: B018 - reading is the test
    assert caught.value.detail == detail
    assert (
        str(caught.value)
        == damaged(detail)
        == (
            f"the report is damaged or not from this sia-audit ({detail}); re-run sia-audit run to "
            "write a new report.json"
        )
    )


def test_the_provenance_reads_what_a_comparison_compares() -> None:
    d = fixed()
    prov = rs.ReportRecord(d).provenance
    saved = d["provenance"]
    assert (prov.target, prov.target_sha256, prov.tool_version, prov.probes) == (
        saved["target"], saved["target_sha256"], saved["tool_version"], saved["probes"]
    )  # fmt: skip
    assert prov.baselines == tuple(saved["baselines"]) and prov.values is saved
    assert prov.attack is not None and prov.attack.steps == saved["attack"]["steps"]
    assert (
        prov.bootstrap is not None and prov.bootstrap.resamples == saved["bootstrap"]["resamples"]
    )
    assert prov.text("device") == "cpu" and prov.text("no_such_key") is None
    for key in ("attack", "baselines", "bootstrap"):
        del saved[key]
    bare = rs.ReportRecord(d).provenance
    assert (bare.attack, bare.baselines, bare.bootstrap) == (None, None, None)
    saved["attack"] = None
    assert rs.ReportRecord(d).provenance.attack is None
    saved["baselines"] = ["fgsm", 3]
    with pytest.raises(rs.SchemaError) as caught:
        rs.ReportRecord(d).provenance  # noqa: B018
    assert caught.value.detail == "provenance.baselines[1]: expected text, got int"


def test_the_gallery_and_timings_read_back() -> None:
    d = fixed()
    r = rs.ReportRecord(d)
    first, saved = r.gallery[0], d["gallery"][0]
    assert (first.name, first.flipped, first.original, first.reconstruction, first.adversary) == (
        saved["name"], saved["flipped"], saved["images"]["original"],
        saved["images"]["reconstruction"], saved["images"]["adversary"],
    )  # fmt: skip
    assert r.timings.finished_utc == "2026-11-22T05:00:00Z"
    d["timings"]["finished_utc"] = 5
    assert rs.ReportRecord(d).timings.finished_utc is None


def test_a_node_names_the_path_of_every_problem() -> None:
    n = Node({"t": "x", "f": 1.5, "none": None, "list": [1], "obj": {"a": "b"}, "b": True}, "r")
    assert n.text_or_none("t") == "x" and n.text_or_none("none") is None
    assert n.text_or_none("missing", optional=True) is None
    assert n.number_or_none("f") == 1.5 and n.number_or_none("none") is None
    with pytest.raises(rs.SchemaError) as caught:
        n.text_or_none("f")
    assert caught.value.detail == "r.f: expected text, got float"
    with pytest.raises(rs.SchemaError) as caught:
        n.number_or_none("t")
    assert caught.value.detail == "r.t: expected a number, got str"
    with pytest.raises(rs.SchemaError) as caught:
        n.text_or_none("missing")
    assert caught.value.detail == "r.missing: missing"
    for call, detail in [
        (lambda: n.text("f"), "r.f: expected text, got float"),
        (lambda: n.flag("t"), "r.t: expected true or false, got str"),
        (lambda: n.count("b"), "r.b: expected an integer, got bool"),
        (lambda: n.items("obj"), "r.obj: expected a list, got dict"),
        (lambda: n.texts("list"), "r.list[0]: expected text, got int"),
        (lambda: n.nodes("list"), "r.list[0]: expected an object, got int"),
        (lambda: n.node_or_none("list"), "r.list: expected an object, got list"),
        (lambda: n.node("missing"), "r.missing: missing"),
        (lambda: n.items_or_none("missing"), "r.missing: missing"),
        (lambda: n.texts("missing"), "r.missing: missing"),
        (lambda: n.nodes("missing"), "r.missing: missing"),
    ]:
        with pytest.raises(rs.SchemaError) as caught:
            call()
        assert caught.value.detail == detail
    assert n.node_or_none("obj").path == "r.obj" and n.node_or_none("missing", True) is None
    assert n.items_or_none("none") is None and n.items_or_none("gone", optional=True) is None
    assert n.texts("gone", optional=True) == () and n.nodes("gone", optional=True) == ()
    assert Node({"k": 1}, "").at("k") == "k"


def test_a_record_reads_from_a_dict_under_its_own_path() -> None:
    e = {"value": 1.0, "low": 0.5, "high": 1.5, "n": 4, "level": 0.95, "definition": "d"}
    assert EstimateRecord.from_dict(e).value == 1.0
    with pytest.raises(rs.SchemaError) as caught:
        EstimateRecord.from_dict({**e, "n": 4.0})
    assert caught.value.detail == "estimate.n: expected an integer, got float"
    with pytest.raises(rs.SchemaError) as caught:
        EstimateRecord.from_dict({**e, "n": "4"}, "figures.x")
    assert caught.value.detail == "figures.x.n: expected an integer, got str"
    # A field written later may be missing; one that is not older may not.
    group = GroupRecord.from_dict({"label": "Male = 1", "n": 0, "sensitivity": None})
    assert (group.reason, group.sensitivity) == (None, None)
    with pytest.raises(rs.SchemaError) as caught:
        GroupRecord.from_dict({"label": "Male = 1", "n": 0, "reason": None})
    assert caught.value.detail == "group.sensitivity: missing"
    picked = estimates(Node({"h": {"a": e, "b": e}}, "s"), "h", ("b", "z"))
    assert list(picked) == ["b"] and list(estimates(Node({"h": {"a": e}}, "s"), "h")) == ["a"]


def test_h_reads_only_the_histograms_attributes() -> None:
    d = fixed()
    sens = d["figures"]["sensitivity"]
    sens["h"]["NotAnAttribute"] = sens["h"]["Bald"]
    r = rs.ReportRecord(d)
    assert "NotAnAttribute" not in r.sensitivity.h
    assert list(r.sensitivity.h) == [a for a in sens["attributes"] if a in sens["h"]]
    assert r.sensitivity.sdar_h.value == sens["sdar_h"]["value"]


def test_a_report_leads_with_the_first_figure_it_holds_for_every_attribute() -> None:
    d = fixed()
    r = rs.ReportRecord(d)
    assert headline(r) is BY_KEY["s"] and BY_KEY["w"].read(r) is None
    names = d["figures"]["sensitivity"]["attributes"]
    w = {a: d["figures"]["sensitivity"]["s"][a] for a in names}
    d["figures"]["weighted_sensitivity"] = {"n": 6, "attributes": names, "excluded": [], "w": w}
    with_w = rs.ReportRecord(d)
    assert headline(with_w) is BY_KEY["w"] and set(BY_KEY["w"].read(with_w)) == set(names)

    # The flips leave the label's partners out and say so: the flip rate still leads.
    def est(v: float) -> dict[str, Any]:
        return {"value": v, "low": v, "high": v, "n": 6, "level": 0.95, "definition": "x"}

    kept, out = names[1:], names[:1]
    d["figures"]["counterfactual_flips"] = {
        "n": 6, "attributes": kept, "excluded": out,
        "rate": {a: est(0.5 if i < 2 else 0.1) for i, a in enumerate(kept)},
        "loss": {a: est(0.1 * i) for i, a in enumerate(kept)},
    }  # fmt: skip
    with_flips = rs.ReportRecord(d)
    assert headline(with_flips) is BY_KEY["flip_rate"]
    # Largest rate first, a tie broken by the flip loss, what the flips left out last.
    assert ordered(with_flips, BY_KEY["flip_rate"]) == [kept[1], kept[0], *kept[:1:-1], *out]
    # A figure that silently lacks an attribute does not lead.
    d["figures"]["counterfactual_flips"]["excluded"] = []
    assert headline(rs.ReportRecord(d)) is BY_KEY["w"]
    del w[names[0]]
    assert headline(rs.ReportRecord(d)) is BY_KEY["s"]


def test_non_finite_numbers_are_found_with_their_path() -> None:
    assert non_finite(float("nan")) == ("report", "nan")
    assert non_finite({"a": [1.0, {"b": float("inf")}]}) == ("a[1].b", "inf")
    assert non_finite({"a": 1.0, "b": [2, "x"]}) is None


def test_a_node_that_must_be_there_is_not_optional_by_default() -> None:
    n = Node({}, "r")
    with pytest.raises(rs.SchemaError) as caught:
        n.node_or_none("gone")
    assert caught.value.detail == "r.gone: missing"


@pytest.mark.parametrize(
    ("content", "says"),
    [(b"[]", "not a sia-audit report of schema 1; give a report.json written by sia-audit run"),
     (b'{"schema_version": 1, "x": [1, NaN]}',
      "x[1] is nan, and sia-audit writes only finite numbers (the file was edited or damaged); "
      "re-run sia-audit run to write a new report.json")],
)  # fmt: skip
def test_load_says_what_to_give_instead(tmp_path: Path, content: bytes, says: str) -> None:
    path = tmp_path / "r.json"
    path.write_bytes(content)
    with pytest.raises(rs.SchemaError.__mro__[1]) as caught:  # a DataError
        rs.load(path)
    assert str(caught.value) == f"{path}: {says}"


def test_the_report_table_prints_each_figure_at_its_precision() -> None:
    from sia_audit.formats.figures import sensitivity_view

    d = fixed()
    figs = d["figures"]
    names = figs["sensitivity"]["attributes"]
    e = {"value": 0.123456, "low": 0.1, "high": 0.2, "n": 6, "level": 0.95, "definition": "d"}
    block = {a: e for a in names}
    figs["weighted_sensitivity"] = {"n": 6, "attributes": names, "excluded": [], "w": block}
    figs["counterfactual_flips"] = {"n": 6, "attributes": names, "excluded": [], "rate": block,
                                    "loss": block}  # fmt: skip
    figs["path_attribution"] = {
        "n": 6,
        "attributes": names,
        "excluded": [],
        "path": block,
        "share": block,
        "image": e,
        "image_share": e,
        "total": e,
    }
    figs["attribute_effect"]["effect"] = figs["sensitivity"]["s"] = figs["sensitivity"]["h"] = block
    figs["single_attribute"] = dict(figs["sensitivity"])
    row = sensitivity_view(rs.ReportRecord(d)).rows[0]
    printed = {key: f.value for key, f in row.figures.items() if f is not None}
    assert printed == {"w": "0.123", "flip_rate": "0.123", "s": "0.123", "h": "0.123",
                       "effect": "0.1235", "single": "0.123", "path_share": "0.123",
                       "flip_loss": "0.123"}  # fmt: skip


def test_the_demo_lists_the_three_first_of_the_report_s_order() -> None:
    from sia_audit.commands.demo import top3
    from sia_audit.metrics.estimate import Estimate

    def est(v: float) -> Estimate:
        return Estimate(v, v, v, 6, 0.95, "x")

    names = ["A", "B", "C", "D", "E"]
    rate = [est(0.5), est(0.5), est(0.1), est(0.9), est(0.3)]
    loss = [est(0.1), est(0.2), est(0.0), est(0.0), est(0.0)]
    # D is unmeasurable; the 0.5 tie goes to the larger flip loss, as in `ordered`
    assert top3(names, rate, loss, {"D"}) == "B 0.500, A 0.500, E 0.300"
    assert top3(names, rate, (), ()) == "D 0.900, A 0.500, B 0.500"  # no tie-break: the given order
