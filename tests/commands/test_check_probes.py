"""`sia-audit check-probes`: bad CelebA folders are one line and exit 2, good ones summarised."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from sia_audit.cli import cli


@pytest.fixture(scope="module")
def good(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("probes") / "p"
    assert CliRunner().invoke(cli, ["synth", str(out), "-n", "20"]).exit_code == 0
    return out


def copy(src: Path, dst: Path) -> Path:
    import shutil

    shutil.copytree(src, dst)
    return dst


def check(*args: str):
    return CliRunner().invoke(cli, ["check-probes", *args])


def test_good_folder_is_summarised(good: Path) -> None:
    result = check(str(good), "--split", "train")
    assert result.exit_code == 0, result.output
    assert "16 probes" in result.output and "manifest sha256" in result.output


def _missing_image(root: Path) -> str:
    (root / "img_align_celeba" / "000003.png").unlink()
    return "000003.png"


def _malformed_attr(root: Path) -> str:
    path = root / "list_attr_celeba.txt"
    lines = path.read_text().splitlines()
    lines[4] = lines[4].rsplit(" ", 1)[0]  # drop a value
    path.write_text("\n".join(lines) + "\n")
    return "list_attr_celeba.txt:5"


def _escaping_name(root: Path) -> str:
    for name in ("list_attr_celeba.txt", "list_attr_continuous.txt"):
        path = root / name
        path.write_text(path.read_text().replace("000002.png", "../000002.png"))
    return "../000002.png"


def _bad_value(root: Path) -> str:
    path = root / "list_attr_celeba.txt"
    lines = path.read_text().splitlines()
    lines[2] = lines[2].replace("-1", " 0", 1)
    path.write_text("\n".join(lines) + "\n")
    return "list_attr_celeba.txt:3"


@pytest.mark.parametrize("damage", [_missing_image, _malformed_attr, _escaping_name, _bad_value])
def test_damaged_folder_is_one_line_and_exit_2(good: Path, tmp_path: Path, damage) -> None:
    root = copy(good, tmp_path / "p")
    needle = damage(root)
    before = sorted(p.name for p in root.rglob("*"))
    result = check(str(root))
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0], lines
    assert sorted(p.name for p in root.rglob("*")) == before  # nothing written


def test_missing_folder_and_unknown_attribute(good: Path, tmp_path: Path) -> None:
    assert check(str(tmp_path / "nowhere")).exit_code == 2
    result = check(str(good), "--attrs", "Eyeglasses,Goatee")
    assert result.exit_code == 2 and "Goatee" in result.stderr


def test_with_the_policy_the_manifest_is_the_report_s(good: Path, tmp_path: Path) -> None:
    """Without a policy it hashes the paper's 15 attributes as stored; with --policy it reads
    DATA as a run does (count, size, its generator's attributes): the report's manifest."""
    from sia_audit.app.inputs import build_probes, generator_path
    from sia_audit.generators.checkpoint import load_generator
    from sia_audit.policy import load_policy

    policy = tmp_path / "policy.yaml"
    policy.write_text(f"probes: {{source: {good}, count: 6, split: train}}\n")
    loaded = load_policy(policy)
    recorded = build_probes(loaded, load_generator(generator_path(loaded.generator.source)))
    result = check(str(good), "--policy", str(policy))
    assert result.exit_code == 0, result.output
    assert "6 probes" in result.output and "images (64, 64)" in result.output
    line = next(x for x in result.output.splitlines() if x.startswith("manifest sha256"))
    assert line == f"manifest sha256: {recorded.manifest_sha256()} (as the policy reads it)"
    plain = check(str(good), "--split", "train", "--first-n", "6")
    assert recorded.manifest_sha256() not in plain.output  # stored size, not the policy's
