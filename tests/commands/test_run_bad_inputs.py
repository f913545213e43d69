"""`sia-audit run` on bad input: one clear line, exit 2, no report files and no folder left.

Every case fails before the attack (they are cheap); the list follows the issue's and adds
the ones a CI user meets: empty or misnamed files, folders given as files, missing baselines.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner
from torch import nn

from sia_audit.cli import cli
from sia_audit.probes.synthfaces.attributes import ATTRIBUTES
from tests.commands.test_run import LENIENT, STRICT, TARGET
from tests.core.test_target_loading import Detached, NaNNet, Net
from tests.formats.conftest import DATA as REPORT
from tests.policy.test_policy import alias_bomb

CONTRACT = {"task": "binary", "label": "Eyeglasses", "input_size": [64, 64]}


def scripted(model: nn.Module, contract: dict | None = CONTRACT) -> Callable[[Path], str]:
    def make(tmp: Path) -> str:
        path = tmp / "model.pt"
        extra = {"sia_target.json": json.dumps(contract)} if contract is not None else {}
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            traced = torch.jit.trace(model.eval(), torch.zeros(1, 3, 64, 64))
            torch.jit.save(traced, str(path), _extra_files=extra)
        return str(path)

    return make


def file_with(name: str, data: bytes) -> Callable[[Path], str]:
    def make(tmp: Path) -> str:
        (tmp / name).write_bytes(data)
        return str(tmp / name)

    return make


def pickled_generator(tmp: Path) -> str:
    path = tmp / "gen.pt"
    torch.save({"generator": nn.Linear(2, 2)}, path)  # a pickled module: runs code on load
    return str(path)


def baseline_with(manifest: str) -> Callable[[Path], str]:
    """A real saved report (tests/formats/data) with another probe manifest."""

    def make(tmp: Path) -> str:
        report = json.loads(REPORT.read_text())
        report["provenance"]["probe_manifest_sha256"] = manifest
        (tmp / "base.json").write_text(json.dumps(report))
        return str(tmp / "base.json")

    return make


REGRESSION = LENIENT + "  regression: {sdar_increase: 0.01}\n"


class MeanColour(nn.Module):
    def __init__(self, outputs: int) -> None:
        super().__init__()
        self.fc = nn.Linear(3, outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(x.mean(dim=(2, 3)))


def classifier(tmp: Path, name: str, outputs: int, names: list[str]) -> str:
    """A TorchScript attribute classifier carrying `names` in its sia_classifier.json."""
    path = tmp / name
    extra = {"sia_classifier.json": json.dumps({"attributes": names})}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.save(torch.jit.script(MeanColour(outputs)), str(path), _extra_files=extra)
    return str(path)


def huge_classifier(tmp: Path) -> str:
    """An attribute classifier whose contract asks for a 1,000,000 x 1,000,000 input."""
    path = tmp / "huge.pt"
    meta = {"attributes": list(ATTRIBUTES), "input_size": [1_000_000, 1_000_000]}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.save(
            torch.jit.script(MeanColour(len(ATTRIBUTES))),
            str(path),
            _extra_files={"sia_classifier.json": json.dumps(meta)},
        )
    return str(path)


def with_classifier(path: str) -> str:
    return LENIENT + f"generator: {{source: builtin:synthfaces, attribute_classifier: {path}}}\n"


def model(make: Callable[[Path], str], words: str) -> tuple:
    return (make, LENIENT, [], words)


def policy(text: str, words: str) -> tuple:
    return (TARGET, text, [], words)


CASES = {
    "missing model": model(lambda t: str(t / "missing.pt"), "file not found"),
    "corrupt model": model(file_with("model.pt", b"not a zip"), "not a TorchScript archive"),
    "empty model": model(file_with("model.pt", b""), "model.pt"),
    "model is a folder": model(lambda t: str(t), "folder"),
    "ONNX model": model(file_with("model.onnx", b"\x08\x07"), "ONNX"),
    "wrong output shape": model(scripted(Net(outputs=3)), "target"),
    "NaN outputs": model(scripted(NaNNet()), "non-finite"),
    "no input gradient": model(scripted(Detached()), "gradient"),
    "no contract": model(scripted(Net(), contract=None), "no contract"),
    "unknown policy key": policy(LENIENT + "colour: red\n", "unknown key"),
    "wrong type": policy(LENIENT.replace("count: 6", "count: six"), "probes.count"),
    "impossible threshold": policy(
        LENIENT.replace("{min: 0.5}", "{min: 1.5}"), "clean_accuracy.min"
    ),
    "negative ceiling": policy(LENIENT.replace("{max: 1.0}", "{max: -1}"), "sdar.max"),
    "YAML not a mapping": policy("- a\n- list\n", "YAML mapping"),
    "YAML syntax": policy("probes: {count: [\n", "not valid YAML"),
    "attribute not in generator": policy(
        LENIENT.replace("protected: [Mustache]", "protected: [Mustach]"), "Mustach"
    ),
    "generator not weights-only": (
        TARGET,
        LENIENT + "generator: {gen}\n",
        [],
        "refused by torch.load(weights_only=True)",
    ),
    "generator missing": (TARGET, LENIENT + "generator: {tmp}/nope.pt\n", [], "nope.pt"),
    "incompatible baseline": (
        TARGET,
        REGRESSION,
        ["--baseline", "{base}"],
        "not comparable: probe_manifest_sha256",
    ),
    "baseline not JSON": (TARGET, REGRESSION, ["--baseline", "{policy}"], "not JSON"),
    "baseline missing": (TARGET, REGRESSION, ["--baseline", "{tmp}/no.json"], "cannot read"),
    "output is a file": (TARGET, LENIENT, ["--out", "{policy}"], "is a file"),
    "classifier with the wrong number of outputs": policy(
        with_classifier("{clf_outputs}"), "outputs (2, 14) but names 15 attributes"
    ),
    "classifier naming other attributes": policy(
        with_classifier("{clf_names}"), "does not name the generator's attributes ['Young']"
    ),
    "classifier missing": policy(with_classifier("{tmp}/no-clf.pt"), "no-clf.pt: file not found"),
    "division by zero in a policy": policy(
        LENIENT.replace("eta_a: 4/255", "eta_a: 1/0"), "attack.eta_a: '1/0' divides by zero"
    ),
    "a protected attribute twice": policy(
        LENIENT.replace("[Mustache]", "[Mustache, Mustache]"), "lists 'Mustache' twice"
    ),
    "more probes than memory": policy(
        LENIENT.replace("count: 6", "count: 100000000"), "probes.count 100,000,000 needs about"
    ),
    "output under a file": (TARGET, LENIENT, ["--out", "{policy}/rep"], "is a file"),
    "a policy of nested aliases": policy(alias_bomb(), "its YAML aliases expand to more than"),
    "multiclass on a model with one logit": (
        scripted(MeanColour(1)),
        LENIENT + "target: {task: multiclass}\n",
        [],
        "got (2, 1): one logit is a binary target; use task: binary",
    ),
    "a target asking for a huge input": model(
        scripted(Net(), {**CONTRACT, "input_size": [1_000_000, 1_000_000]}),
        "input_size=[1000000, 1000000] has a side above 4096 pixels",
    ),
    "a policy asking for a huge input": policy(
        LENIENT + "target: {input_size: [64, 100000]}\n", "has a side above 4096 pixels"
    ),
    "a classifier asking for a huge input": policy(
        with_classifier("{clf_huge}"), "input_size [1000000, 1000000] has a side above 4096"
    ),
    "a gate on no attribute": policy(
        STRICT.replace("attributes: protected", "attributes: []"), "lists no attribute"
    ),
}


@pytest.mark.parametrize(("make", "text", "extra", "words"), CASES.values(), ids=CASES.keys())
def test_bad_input_is_one_line_exit_2_and_writes_nothing(
    tmp_path: Path, make, text: str, extra: list[str], words: str
) -> None:
    target = make(tmp_path) if callable(make) else make
    fill = {
        "tmp": str(tmp_path),
        "gen": pickled_generator(tmp_path),
        "base": baseline_with("0" * 64)(tmp_path),
        "policy": str(tmp_path / "policy.yaml"),
    }
    if "{clf_" in text:
        names = list(ATTRIBUTES)
        fill["clf_outputs"] = classifier(tmp_path, "outputs.pt", 14, names)
        fill["clf_names"] = classifier(tmp_path, "names.pt", 15, [*names[:-3], "Old", *names[-2:]])
        fill["clf_huge"] = huge_classifier(tmp_path)

    def filled(s: str) -> str:
        for key, value in fill.items():
            s = s.replace("{" + key + "}", value)
        return s

    (tmp_path / "policy.yaml").write_text(filled(text))
    args = ["run", target, "--policy", fill["policy"], "--quiet"]
    args += [filled(a) for a in extra] if "--out" in extra else ["--out", str(tmp_path / "rep")]
    args += [filled(a) for a in extra if "--out" not in extra]
    before = sorted(p.name for p in tmp_path.iterdir())

    result = CliRunner().invoke(cli, args)

    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sia-audit: error: "), result.stderr
    assert words in lines[0], lines[0]
    assert "Traceback" not in result.output
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # no report, no folder
