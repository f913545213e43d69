"""report_schema: the readers of report.json, torch-free, naming the path of what is damaged, and
agreeing with the writers (every key an `as_dict` writes is a field its reader reads)."""

from __future__ import annotations

import copy
import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch

from sia_audit import report_schema as rs
from sia_audit.attacks.config import AttackConfig
from sia_audit.errors import DataError
from sia_audit.gates.regression import load_report, table_from_report
from sia_audit.metrics import BootstrapConfig, Estimate, attribute_effect
from sia_audit.metrics.editability import AttributeEditability, Editability, TruthCheck
from sia_audit.metrics.sensitivity import sensitivity, subpopulation_sensitivity
from sia_audit.onnx.results import OnnxParity, OnnxResult
from sia_audit.results import GateVerdict

DATA = Path(__file__).parent / "formats" / "data" / "report.json"
ROOT = Path(__file__).resolve().parents[1]
CONFIG = BootstrapConfig(resamples=20, seed=0)


@pytest.fixture
def data() -> dict[str, Any]:
    return json.loads(DATA.read_text(encoding="utf-8"))


def fields(cls: type) -> set[str]:
    return {f.name for f in dataclasses.fields(cls)}


def test_importing_the_schema_does_not_import_torch() -> None:
    probe = (
        "import sys\n"
        "import sia_audit.report_schema as rs\n"
        f"r = rs.load({str(DATA)!r})\n"
        "r.probes, r.sensitivity, r.attacks, r.gallery, r.provenance\n"
        "assert 'torch' not in sys.modules, 'report_schema imported torch'\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_the_fixed_report_reads_block_by_block() -> None:
    r = rs.load(DATA)
    assert r.json_bytes == DATA.read_bytes() and r.schema_version == rs.SCHEMA_VERSION
    assert (r.verdict, r.passed, r.main_attack) == ("fail", False, "full")
    assert r.protected == ("Mustache", "Male") and len(r.gates) == 10
    assert r.gates[0] == rs.GateRecord.from_dict(r.data["gates"][0])
    sens = r.sensitivity
    assert sens.n == 6 and sens.excluded == ("Eyeglasses",) and len(sens.attributes) == 14
    assert set(sens.s) == set(sens.h) == set(sens.attributes)
    assert sens.sdar_s.value == pytest.approx(0.006504105828118599)
    assert list(r.attacks) == ["fgsm", "full", "pgd"]
    assert r.attacks["fgsm"].psnr_recon is None and r.attacks["full"].psnr_recon is not None
    assert r.attacks["full"].config.steps == 3
    assert r.subpopulations["Male"].in_group.n == 4 and r.single_attribute is None
    effect = r.block("attribute_effect")
    assert effect is not None and set(effect.get("effect") or ()) == set(sens.attributes)
    assert effect.n == 6  # the block's own probe count and attributes, read from its record
    assert effect.attributes == tuple(r.data["figures"]["attribute_effect"]["attributes"])
    p = r.probes
    assert len(p.names) == 6 and len(p.attributes) == 15 and p.frozen == ("Eyeglasses",)
    assert p.delta is not None and len(p.delta) == 6 and all(len(row) == 15 for row in p.delta)
    assert p.correct_clean == (True,) * 6
    assert r.provenance.probes == 6 and r.provenance.text("device") == "cpu"
    assert r.provenance.text("not recorded") is None
    assert r.provenance.bootstrap == rs.BootstrapRecord(resamples=50, seed=0, level=0.95)
    assert r.timings.finished_utc == "2026-11-22T05:00:00Z" and r.timings.seconds["wall"] == 3.5
    assert len(r.gallery) == 2 and r.gallery[0].changes[0] == ("Black_Hair", 0.0471)


def test_an_older_report_reads_its_missing_blocks_as_empty(data: dict[str, Any]) -> None:
    for key in ("gallery", "protected", "timings"):
        del data[key]
    # The fixed report predates editability: no sensitivity.unmeasurable, no figures.editability.
    assert "unmeasurable" not in data["figures"]["sensitivity"]
    assert "editability" not in data["figures"] and "onnx" not in data
    r = rs.ReportRecord(data)
    assert (r.gallery, r.protected, r.sensitivity.unmeasurable) == ((), (), ())
    assert r.editability is None and r.onnx is None
    assert r.timings == rs.TimingsBlock(seconds={}, finished_utc=None)


@pytest.mark.parametrize(
    ("path", "read"),
    [
        (("figures", "sensitivity", "sdar_s"), lambda r: r.sensitivity),
        (("figures", "sensitivity", "s", "Bald", "definition"), lambda r: r.sensitivity),
        (("provenance", "target"), lambda r: r.provenance),
        (("gates", 3, "status"), lambda r: r.gates),
        (("probes", "correct_adversary"), lambda r: r.probes),
        (("figures", "attacks", "fgsm", "config", "eps_x"), lambda r: r.attacks),
        (("figures", "subpopulations", "Male", "out_group", "label"), lambda r: r.subpopulations),
        (("gallery", 1, "images", "original"), lambda r: r.gallery),
        (("verdict",), lambda r: r.passed),
    ],
)
def test_a_missing_key_is_a_data_error_naming_its_path(
    data: dict[str, Any], path: tuple[str | int, ...], read: Any
) -> None:
    parent: Any = data
    for key in path[:-1]:
        parent = parent[key]
    del parent[path[-1]]
    dotted = ".".join(f"[{k}]" if isinstance(k, int) else k for k in path).replace(".[", "[")
    with pytest.raises(DataError, match=r"damaged .*\(" + dotted.replace("[", r"\[") + ": missing"):
        read(rs.ReportRecord(data))


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda d: d["figures"]["sensitivity"].update(n="6"), "sensitivity.n: expected an integer"),
        (lambda d: d["gates"][0].update(value="0.1"), "gates[0].value: expected a number, got str"),
        (lambda d: d["gates"][0].update(use_confidence=1), "expected true or false, got int"),
        (
            lambda d: d["figures"].update(sensitivity=[]),
            "sensitivity: expected an object, got list",
        ),
        (lambda d: d["probes"]["delta"][2].pop(), "probes.delta[2]: expected a list of 15"),
        (lambda d: d["probes"]["names"].pop(), "probes.a0: 6 entries for 5 probes"),
        (lambda d: d["probes"]["correct_clean"].append(True), "correct_clean: 7 entries for 6"),
    ],
)
def test_a_wrong_type_or_shape_names_its_path(data: dict[str, Any], change: Any, says: str) -> None:
    change(data)
    r = rs.ReportRecord(data)
    with pytest.raises(rs.SchemaError, match=re.escape(says)):
        r.gates, r.sensitivity, r.probes  # noqa: B018 - reading is the test


def test_a_report_that_is_not_an_object_is_refused() -> None:
    with pytest.raises(rs.SchemaError, match=r"report: expected an object, got list"):
        rs.ReportRecord([])


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"not json", "not JSON"),
        (b"[]", "not a sia-audit report of schema 1"),
        (b'{"schema_version": 2}', "not a sia-audit report of schema 1"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply to be a report"),
    ],
)
def test_load_refuses_what_is_not_a_report(tmp_path: Path, content: bytes, says: str) -> None:
    path = tmp_path / "report.json"
    path.write_bytes(content)
    with pytest.raises(DataError, match=says):
        rs.load(path)
    with pytest.raises(DataError, match="cannot read it"):
        rs.load(tmp_path / "missing.json")


@pytest.mark.parametrize("token", ["NaN", "Infinity", "-Infinity", "1e999"])
def test_load_refuses_nan_and_infinities_naming_the_key(tmp_path: Path, token: str) -> None:
    """Python's json reads NaN and infinities; a report never holds them, so load refuses them
    once, before compare, run --baseline or render meets them."""
    text = DATA.read_text(encoding="utf-8")
    data = json.loads(text)
    data["probes"]["loss_adversary"][2] = 12345.678
    text = json.dumps(data).replace("12345.678", token)
    path = tmp_path / "report.json"
    path.write_text(text)
    value = {"NaN": "nan", "Infinity": "inf", "-Infinity": "-inf", "1e999": "inf"}[token]
    with pytest.raises(DataError, match=rf"probes.loss_adversary\[2\] is {value}, and sia-audit"):
        rs.load(path)


# The writers and the readers agree: what an `as_dict` writes is what `from_dict` reads.


def est(value: float, definition: str = "d") -> Estimate:
    return Estimate(value=value, low=value - 0.1, high=value + 0.1, n=4, level=0.95,
                    definition=definition)  # fmt: skip


def test_estimates_and_gates_read_back_what_was_written() -> None:
    e = est(0.5, "a figure")
    assert dataclasses.asdict(rs.EstimateRecord.from_dict(e.as_dict())) == e.as_dict()
    v = GateVerdict("sdar(s)", "fail", 0.2, 0.1, 0.3, 0.1, "max", True, "sdar(s) above")
    assert dataclasses.asdict(rs.GateRecord.from_dict(dataclasses.asdict(v))) == (
        dataclasses.asdict(v)
    )
    skipped = GateVerdict("regression", "skipped", None, None, None, None, None, False, "no base")
    assert rs.GateRecord.from_dict(dataclasses.asdict(skipped)).value is None
    assert fields(rs.GateRecord) == fields(GateVerdict)


def test_sensitivity_effects_and_subpopulations_read_back() -> None:
    names = ["a", "b", "c"]
    delta = torch.tensor([[0.1, -0.2, 0.0], [0.3, 0.1, -0.1], [0.0, 0.2, 0.2], [0.1, 0.0, 0.1]])
    sens = sensitivity(delta, names=names, config=CONFIG, unmeasurable=["b"])
    written = sens.as_dict()
    block = rs.SensitivityBlock.from_dict(written)
    assert set(written) == fields(rs.SensitivityBlock)
    assert block.unmeasurable == ("b",) and set(block.h) == {"a", "c"}
    assert block.s["b"] == rs.EstimateRecord.from_dict(written["s"]["b"])
    effects = attribute_effect(delta, names=names, config=CONFIG).as_dict()
    block = rs.AttributeBlock.from_dict(effects)
    assert block.get("effect") is not None and block.get("effect")["c"].n == 4
    assert set(effects) == {"n", "attributes", "excluded", *block.estimates, *block.scalars}
    group = torch.tensor([True, True, True, False])
    sub = subpopulation_sensitivity(delta, group, attribute="a", names=names, config=CONFIG)
    read = rs.SubpopulationBlock.from_dict(sub.as_dict())
    assert set(sub.as_dict()) == fields(rs.SubpopulationBlock)
    assert set(sub.as_dict()["in_group"]) == fields(rs.GroupRecord)
    assert (read.in_group.n, read.out_group.n) == (3, 1) and read.in_group.reason is None


def test_editability_and_onnx_read_back() -> None:
    truth = TruthCheck(30.0, 25.0, 27.5, 90.0, est(1.0))
    attrs = (
        AttributeEditability("a", est(0.9), est(0.05), "b", True, truth),
        AttributeEditability("b", est(0.3), est(0.02), None, False),
    )
    written = Editability("classifier", 0.8, attrs, 4).as_dict()
    block = rs.EditabilityBlock.from_dict(written)
    assert set(written) - {"unmeasurable"} == fields(rs.EditabilityBlock)
    assert block.unmeasurable == tuple(written["unmeasurable"]) == ("b",)
    assert set(written["attributes"]["a"]) == fields(rs.AttributeEditabilityRecord)
    assert set(written["attributes"]["a"]["truth"]) == fields(rs.TruthRecord)
    a, b = block.attributes["a"], block.attributes["b"]
    assert a.truth is not None and a.truth.gain_db == 5.0 and b.truth is None
    assert b.most_leaked_to is None and not b.measurable
    parity = OnnxParity(1e-6, est(1.0), "target.pt")
    onnx = OnnxResult("m.onnx", "ab" * 32, "CPUExecutionProvider", "1.31", est(0.9), parity)
    read = rs.OnnxBlock.from_dict(onnx.as_dict())
    assert set(onnx.as_dict()) == fields(rs.OnnxBlock)
    assert set(parity.as_dict()) == fields(rs.OnnxParityRecord)
    assert read.parity is not None and read.parity.max_abs_diff == 1e-6
    assert rs.OnnxBlock.from_dict({**onnx.as_dict(), "parity": None}).parity is None


def test_run_blocks_hold_every_key_the_writer_writes(data: dict[str, Any]) -> None:
    config = dataclasses.asdict(AttackConfig(variant="full", steps=3))
    assert rs.AttackConfigRecord.from_dict(config).steps == 3
    assert fields(rs.AttackConfigRecord) <= set(config)
    # The fixed report predates the per-probe effects, start losses and counterfactual flips
    # (read as None there); tests/commands/test_compare.py checks a fresh report's probes block
    # holds them all.
    later = {"loss_start", "effects", "flip_loss", "flip_changed"}
    assert set(data["probes"]) | later == fields(rs.ProbesBlock)
    probes = rs.load(DATA).probes
    assert probes.loss_start is None and probes.effects is None and probes.flip_loss is None
    assert set(data["figures"]["attacks"]["full"]) == fields(rs.AttackRecord)
    assert set(data["gallery"][0]) - {"images"} <= fields(rs.GalleryRecord)
    assert set(data["gallery"][0]["images"]) <= fields(rs.GalleryRecord)


# The regression reads its per-probe data through the same readers.


def test_the_regression_table_holds_the_saved_arrays(data: dict[str, Any]) -> None:
    table = table_from_report(load_report(DATA), str(DATA))
    p = data["probes"]
    assert table.names == tuple(p["names"]) and table.frozen == ("Eyeglasses",)
    assert torch.equal(table.delta, torch.tensor(p["delta"], dtype=torch.float64))
    assert table.correct_adv.tolist() == p["correct_adversary"]
    assert table.provenance == data["provenance"] and table.unmeasurable == ()
    assert table_from_report(data, "as a dict").names == table.names


@pytest.mark.parametrize(
    ("change", "says"),
    [
        (lambda d: d["probes"].pop("delta"), "probes.delta: missing"),
        (lambda d: d["probes"].update(delta=None), "probes.delta: null"),
        (lambda d: d["probes"]["correct_adversary"].pop(), "correct_adversary: 5 entries for 6"),
        (lambda d: d.pop("provenance"), "provenance: missing"),
    ],
)
def test_damaged_per_probe_data_is_one_line_naming_the_report(
    data: dict[str, Any], change: Any, says: str
) -> None:
    damaged = copy.deepcopy(data)
    change(damaged)
    with pytest.raises(
        DataError, match=f"base.json: the report's per-probe data is damaged.*{says}"
    ):
        table_from_report(damaged, "base.json")


def test_path_attribution_and_flags_read_back() -> None:
    from sia_audit.gates.flags import ValidityFlag
    from sia_audit.metrics.path import path_attribution

    path_a = torch.tensor([[0.1, 0.2, 0.0], [0.3, 0.1, 0.0], [0.2, 0.2, 0.0], [0.1, 0.4, 0.0]])
    written = path_attribution(
        path_a, torch.tensor([0.1, 0.0, 0.2, 0.1]), [True, True, False], names=["a", "b", "c"],
        config=CONFIG,
    ).as_dict()  # fmt: skip
    block = rs.AttributeBlock.from_dict(written)
    assert set(written) == {"n", "attributes", "excluded", *block.estimates, *block.scalars}
    assert set(block.scalars) == {"image", "image_share", "total"}
    assert block.excluded == ("c",) and set(block.get("share") or ()) == {"a", "b"}
    flag = ValidityFlag("loss_not_raised", True, "fail", "the attack raised nothing")
    assert dataclasses.asdict(rs.FlagRecord.from_dict(flag.as_dict())) == flag.as_dict()


def test_the_single_attribute_block_reads_as_a_sensitivity(data: dict[str, Any]) -> None:
    """`single_attribute` holds s and h like `sensitivity`, not a generic per-attribute block."""
    data["figures"]["single_attribute"] = copy.deepcopy(data["figures"]["sensitivity"])
    r = rs.ReportRecord(data)
    block = r.block("single_attribute")
    assert isinstance(block, rs.SensitivityBlock) and block == r.single_attribute
    assert block.s == r.sensitivity.s
