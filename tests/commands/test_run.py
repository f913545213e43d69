"""`sia-audit run` end to end on the shipped generator and the demo target, tiny settings."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from sia_audit.cli import cli

ROOT = Path(__file__).resolve().parents[2]
TARGET = str(ROOT / "examples" / "models" / "eyeglasses_control.pt")
BASE = """\
probes: {count: 6, seed: 3}
attack: {steps: 3, eta_a: 4/255, batch_size: 4}
bootstrap: {resamples: 50}
protected: [Mustache]
"""
LENIENT = BASE + "gates:\n  clean_accuracy: {min: 0.5}\n  sdar: {max: 1.0}\n"
STRICT = BASE + "gates:\n  sensitivity: {max: 0.0001, attributes: protected}\n"


def write(tmp_path: Path, text: str, name: str = "policy.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def run(*args: str):
    return CliRunner().invoke(cli, ["run", *args, "--quiet"])


def test_passing_policy_exits_0_and_writes_reports(tmp_path: Path) -> None:
    out = tmp_path / "rep"
    result = run(TARGET, "--policy", str(write(tmp_path, LENIENT)), "--out", str(out))
    assert result.exit_code == 0, result.output
    report = json.loads((out / "report.json").read_text())
    assert report["schema_version"] == 1 and report["verdict"] == "pass"
    assert len(report["probes"]["delta"]) == 6 and report["probes"]["frozen"] == ["Eyeglasses"]
    assert report["provenance"]["generator"] == "builtin:synthfaces"
    assert len(report["provenance"]["target_sha256"]) == 64
    assert "PASSED" in (out / "summary.md").read_text()


def test_failing_gate_exits_1_and_still_writes_reports(tmp_path: Path) -> None:
    out = tmp_path / "rep"
    result = run(TARGET, "--policy", str(write(tmp_path, STRICT)), "--out", str(out))
    assert result.exit_code == 1, result.output
    report = json.loads((out / "report.json").read_text())
    assert report["verdict"] == "fail"
    assert [g["status"] for g in report["gates"]] == ["fail"]
    assert "sensitivity s[Mustache]" in result.stderr


def test_two_runs_give_identical_figures(tmp_path: Path) -> None:
    policy = str(write(tmp_path, LENIENT))
    reports = []
    for name in ("a", "b"):
        assert run(TARGET, "--policy", policy, "--out", str(tmp_path / name)).exit_code == 0
        report = json.loads((tmp_path / name / "report.json").read_text())
        report.pop("timings")
        reports.append(report)
    assert reports[0] == reports[1]


def blind_classifier(tmp_path: Path) -> Path:
    """An attribute classifier that never sees anything (as an untrained discriminator): every
    flip of every attribute fails to cross 0.5, so the generator seems to draw none of them."""
    import warnings

    import torch
    from torch import nn

    from sia_audit.probes.synthfaces.attributes import ATTRIBUTES

    class Blind(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.mean(dim=(1, 2, 3)).unsqueeze(1) * 0.0 - 5.0 + torch.zeros(1, 15)

    path = tmp_path / "blind.pt"
    meta = json.dumps({"attributes": list(ATTRIBUTES)})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.jit.save(
            torch.jit.script(Blind()), str(path), _extra_files={"sia_classifier.json": meta}
        )
    return path


def test_every_attribute_unmeasurable_writes_the_reports_and_fails(tmp_path: Path) -> None:
    """Not a traceback after the attack: the reports, every gate on the attributes
    `unmeasurable`, exit 1; what does not need the generator's edits is still measured."""
    gates = (
        "gates:\n  clean_accuracy: {min: 0.5}\n  sdar: {max: 1.0}\n"
        "  sensitivity: {max: 0.5, attributes: all}\n  weighted_sensitivity: {max: 0.5}\n"
    )
    text = BASE + f"generator: {{attribute_classifier: {blind_classifier(tmp_path)}}}\n" + gates
    out = tmp_path / "rep"
    result = run(TARGET, "--policy", str(write(tmp_path, text)), "--out", str(out))
    assert result.exit_code == 1, result.output
    report = json.loads((out / "report.json").read_text())
    status = {g["gate"]: g["status"] for g in report["gates"]}
    assert status.pop("clean_accuracy") == "pass"
    assert status and set(status.values()) == {"unmeasurable"}, status
    assert "sdar(s)" in status and "weighted_sensitivity[Mustache]" in status
    assert report["figures"]["sensitivity"]["h"] == {}
    assert "No measurable attribute" in (out / "summary.md").read_text()
    assert "n/a" in (out / "report.html").read_text()


def test_a_generator_without_a_classifier_fails_unless_the_policy_accepts_it(
    tmp_path: Path,
) -> None:
    """The shipped generator given as a file comes with no attribute classifier: editability
    is not measured, which fails the run (no silent pass) unless the policy says warn."""
    from sia_audit.app.inputs import BUILTIN, generator_path

    text = LENIENT + f"generator: {generator_path(BUILTIN)}\n"
    out = tmp_path / "rep"
    result = run(TARGET, "--policy", str(write(tmp_path, text)), "--out", str(out))
    assert result.exit_code == 1, result.output
    assert "FLAG    editability_not_measured (fail)" in result.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["verdict"] == "fail" and all(g["status"] == "pass" for g in report["gates"])
    lenient = text + "flags: {editability_not_measured: warn}\n"
    again = run(TARGET, "--policy", str(write(tmp_path, lenient)), "--out", str(tmp_path / "b"))
    assert again.exit_code == 0, again.output
    assert "FLAG    editability_not_measured (warn)" in again.stderr


def test_a_reference_folder_whose_discriminator_sees_nothing(tmp_path: Path) -> None:
    """An AttGAN-PyTorch folder whose D was never trained: its attribute head judges every
    edit a failure, so every attribute is unmeasurable. The reports are written, every gate on
    the attributes reads `unmeasurable`, the run exits 1 (it crashed after the attack before)."""
    import torch

    from sia_audit.generators.attgan import AttGANGenerator, Discriminators
    from sia_audit.generators.reference import save_reference_folder

    names = ("Bald", "Eyeglasses", "Mustache", "Smiling")
    tiny = {"img_size": 32, "enc_dim": 8, "dec_dim": 8, "enc_layers": 3, "dec_layers": 3}
    torch.manual_seed(0)
    folder = tmp_path / "experiment"
    weights = save_reference_folder(folder, AttGANGenerator.from_settings(tiny, names), 1)
    settings = json.loads((folder / "setting.txt").read_text())
    settings.update(dis_dim=8, dis_fc_dim=16, dis_layers=3)
    (folder / "setting.txt").write_text(json.dumps(settings))
    d = Discriminators(dim=8, fc_dim=16, fc_acti="relu", n_layers=3, img_size=32, n_attrs=4)
    state = d.state_dict()
    state["fc_cls.1.layers.0.weight"].zero_()
    state["fc_cls.1.layers.0.bias"].fill_(-5.0)  # every attribute off, whatever the image
    obj = torch.load(weights, weights_only=True)
    obj["D"] = state
    torch.save(obj, weights)
    faces = tmp_path / "faces"
    assert CliRunner().invoke(cli, ["synth", str(faces), "-n", "8"]).exit_code == 0
    text = (
        f"probes: {{source: {faces}, count: 6, size: 32}}\ngenerator: {folder}\n"
        "attack: {steps: 2, batch_size: 6}\nbootstrap: {resamples: 50}\nsubpopulations: []\n"
        "gates:\n  clean_accuracy: {min: 0.0}\n  sdar: {max: 1.0}\n"
        "  sensitivity: {max: 1.0, attributes: all}\n"
    )
    out = tmp_path / "rep"
    result = run(TARGET, "--policy", str(write(tmp_path, text)), "--out", str(out))
    assert result.exit_code == 1, result.output
    report = json.loads((out / "report.json").read_text())
    status = {g["gate"]: g["status"] for g in report["gates"]}
    assert status == {
        "sdar(s)": "unmeasurable",
        "sensitivity s[Bald]": "unmeasurable",
        "sensitivity s[Mustache]": "unmeasurable",
        "sensitivity s[Smiling]": "unmeasurable",
        "clean_accuracy": "pass",
    }
    flags = {f["name"]: f["raised"] for f in report["flags"]}
    assert flags["unmeasurable_attributes"] and not flags["editability_not_measured"]
    assert "fc_cls" in report["figures"]["editability"]["classifier"]
