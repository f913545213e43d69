"""`sia-audit synth`: CelebA-format output that reads back exactly; bad input writes nothing."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

from sia_audit.cli import cli
from sia_audit.probes.celeba import CelebAProbes, Preprocess
from sia_audit.probes.synthfaces.attributes import ATTRIBUTES, INDEX
from sia_audit.probes.synthfaces.dataset import read_params, sample_faces
from sia_audit.probes.synthfaces.renderer import render


def run(*args: str):
    return CliRunner().invoke(cli, list(args))


def tree_digest(root: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        h.update(str(path.relative_to(root)).encode())
        h.update(path.read_bytes())
    return h.hexdigest()


@pytest.fixture(scope="module")
def thousand(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("synth") / "s"
    result = run("synth", str(out), "--count", "1000", "--seed", "1")
    assert result.exit_code == 0, result.output
    return out


def test_synth_writes_1000_faces_that_read_back_identically(thousand: Path) -> None:
    assert len(list((thousand / "img_align_celeba").glob("*.png"))) == 1000
    probes = CelebAProbes(thousand, ATTRIBUTES, preprocess=Preprocess(None, None))
    expected = sample_faces(1000, seed=1)
    assert len(probes) == 1000
    assert torch.equal(probes.attrs, expected.attrs)
    test_split = CelebAProbes(thousand, ATTRIBUTES, split="test", preprocess=Preprocess(None, None))
    assert len(test_split) == 100 and test_split.names[0] == "000901.png"
    images = probes.load_images([0, 999])
    assert images.shape == (2, 3, 64, 64)


def test_same_seed_same_bytes(thousand: Path, tmp_path: Path) -> None:
    again = tmp_path / "again"
    assert run("synth", str(again), "--count", "1000", "--seed", "1").exit_code == 0
    assert tree_digest(again) == tree_digest(thousand)
    other = tmp_path / "other"
    assert run("synth", str(other), "--count", "10", "--seed", "2").exit_code == 0
    first = (thousand / "img_align_celeba" / "000001.png").read_bytes()
    assert (other / "img_align_celeba" / "000001.png").read_bytes() != first


def test_exported_faces_re_render_exactly_and_edit_as_the_same_person(thousand: Path) -> None:
    probes = CelebAProbes(thousand, ATTRIBUTES, first_n=4, preprocess=Preprocess(None, None))
    identity, nuisance = read_params(thousand, probes.names)
    again = render(identity, nuisance, probes.attrs, 64)
    stored = np.stack(
        [np.asarray(Image.open(thousand / "img_align_celeba" / n)) for n in probes.names]
    )
    assert np.array_equal((again.images.permute(0, 2, 3, 1) * 255).round().byte().numpy(), stored)
    assert torch.allclose(probes.landmarks, again.landmarks, atol=1e-3)
    edited = probes.attrs.clone()
    edited[:, INDEX["Eyeglasses"]] = 1.0 - edited[:, INDEX["Eyeglasses"]]
    changed = render(identity, nuisance, edited, 64).images - again.images
    # Only the eye band changes: the rest of the person is untouched.
    assert float(changed[..., 40:, :].abs().max()) == 0.0


def test_planted_correlation_reaches_the_files(tmp_path: Path) -> None:
    out = tmp_path / "biased"
    result = run("synth", str(out), "-n", "400", "--correlate", "Eyeglasses->Mustache@1.0")
    assert result.exit_code == 0, result.output
    probes = CelebAProbes(out, ["Eyeglasses", "Mustache"], preprocess=Preprocess(None, None))
    glasses = probes.attrs[:, 0] >= 0.5
    assert bool((probes.attrs[glasses, 1] >= 0.5).all()) and int(glasses.sum()) > 50


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--correlate", "Eyeglases->Mustache@0.9"], "did you mean 'Eyeglasses'"),
        (["--correlate", "Eyeglasses->Mustache"], "malformed correlation"),
        (["--correlate", "Eyeglasses->Mustache@2"], "probability"),
        (["--count", "0"], "--count must be at least 1"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_writes_nothing(tmp_path: Path, args, words: str) -> None:
    out = tmp_path / "out"
    result = run("synth", str(out), "-n", "5", *args)
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and words in lines[0] and "Traceback" not in result.output
    assert not out.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary folder left behind either


def test_existing_folder_is_never_overwritten(tmp_path: Path) -> None:
    out = tmp_path / "mine"
    out.mkdir()
    (out / "precious.txt").write_text("keep me")
    result = run("synth", str(out), "-n", "5")
    assert result.exit_code == 2 and "already exists" in result.stderr
    assert [p.name for p in out.iterdir()] == ["precious.txt"]


def test_unsupported_size_is_a_usage_error(tmp_path: Path) -> None:
    result = run("synth", str(tmp_path / "x"), "--size", "100")
    assert result.exit_code == 2 and not (tmp_path / "x").exists()
