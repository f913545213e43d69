"""The editability check kept between runs: read back equal, keyed by its inputs, never trusted
when stale or damaged."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from sia_audit.app.inputs import Loaded, load
from sia_audit.app.run import run
from sia_audit.audit import audit
from sia_audit.audit.editability_cache import default_folder
from sia_audit.policy import load_policy

ROOT = Path(__file__).resolve().parents[2]
BIASED = ROOT / "examples" / "models" / "eyeglasses_biased.pt"
CONTROL = ROOT / "examples" / "models" / "eyeglasses_control.pt"
POLICY = """version: 1
probes: {{source: builtin:synthfaces, count: 6, seed: {seed}, size: 64}}
generator: builtin:synthfaces
attack: {{variant: full, steps: 1, batch_size: 4}}
bootstrap: {{resamples: 20, seed: 0, level: 0.95}}
editability: {{min_expression: {min_expression}}}
"""


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache"
    monkeypatch.setenv("SIA_AUDIT_CACHE", str(folder))
    return folder


def loaded(tmp_path: Path, model: Path = BIASED, seed: int = 0, min_e: float = 0.8) -> Loaded:
    path = tmp_path / f"policy-{seed}-{min_e}.yaml"
    path.write_text(POLICY.format(seed=seed, min_expression=min_e))
    return load(str(model), load_policy(path), path, device="cpu")


def audited(x: Loaded):  # noqa: ANN201 (an AuditResult)
    return audit(x.probes, x.generator, x.target, x.config, classifier=x.classifier,
                 cache=x.cache)  # fmt: skip


def test_a_second_run_reads_the_check_and_its_flips_back_equal(tmp_path: Path, cache: Path) -> None:
    first = loaded(tmp_path)
    a = audited(first)
    assert first.cache is not None and first.cache.notes == []
    files = list((cache / "editability").glob("*.json"))
    assert len(files) == 1
    second = loaded(tmp_path)
    assert second.cache is not None and second.cache.key == first.cache.key
    b = audited(second)
    assert b.editability == a.editability and b.timings["editability"] == 0.0
    assert a.timings["editability"] > 0
    main = first.config.attack.variant
    pa, pb = a.attacks[main].probes, b.attacks[main].probes
    assert pa.flip_loss is not None and pb.flip_loss is not None
    assert torch.equal(pa.flip_loss, pb.flip_loss)
    assert pb.flip_changed is not None and torch.equal(pa.flip_changed, pb.flip_changed)
    assert len(second.cache.notes) == 1 and "read from the cache" in second.cache.notes[0]


def test_another_target_probe_set_or_setting_is_another_key(tmp_path: Path, cache: Path) -> None:
    keys = {
        x.cache.key
        for x in (
            loaded(tmp_path),
            loaded(tmp_path, model=CONTROL),
            loaded(tmp_path, seed=1),
            loaded(tmp_path, min_e=0.7),
        )
        if x.cache is not None
    }
    assert len(keys) == 4


@pytest.mark.parametrize(
    "damage",
    [
        lambda text: text[: len(text) // 2],  # cut short
        lambda text: text.replace('"value": 0', '"value": 1', 1),  # edited: checksum fails
        lambda text: json.dumps({**json.loads(text), "format": 99}),  # another format
    ],
)
def test_a_damaged_file_is_ignored_with_a_line_and_measured_over(
    tmp_path: Path, cache: Path, damage
) -> None:  # noqa: ANN001
    a = audited(loaded(tmp_path))
    (path,) = (cache / "editability").glob("*.json")
    path.write_text(damage(path.read_text()))
    again = loaded(tmp_path)
    b = audited(again)
    assert again.cache is not None and "ignored" in again.cache.notes[0]
    assert b.editability == a.editability and b.timings["editability"] > 0
    json.loads(path.read_text())  # measured over: the file is whole again


def test_the_run_says_so_and_off_means_off(
    tmp_path: Path, cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    x = loaded(tmp_path)
    run(str(BIASED), x.policy, x.policy_path, device="cpu")
    again = run(str(BIASED), x.policy, x.policy_path, device="cpu")
    assert any("read from the cache" in note for note in again.notes)
    monkeypatch.setenv("SIA_AUDIT_CACHE", "off")
    assert default_folder() is None and loaded(tmp_path).cache is None
    off = run(str(BIASED), x.policy, x.policy_path, device="cpu")
    assert not any("cache" in note for note in off.notes)
    assert off.result.editability == again.result.editability


def test_an_unwritable_folder_costs_a_line_not_the_run(tmp_path: Path, monkeypatch) -> None:  # noqa: ANN001
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("SIA_AUDIT_CACHE", str(blocker))
    x = loaded(tmp_path)
    result = audited(x)
    assert result.editability is not None
    assert x.cache is not None and "not written" in x.cache.notes[0]


def test_a_whole_file_of_another_key_is_not_trusted(tmp_path: Path, cache: Path) -> None:
    """A file copied or renamed under this key: valid, its checksum right, but made from other
    inputs (another target here): ignored, measured over."""
    from sia_audit.audit.editability_cache import _checksum

    other = loaded(tmp_path, model=CONTROL)
    audited(other)
    x = loaded(tmp_path)
    assert x.cache is not None and other.cache is not None
    data = json.loads(other.cache.path.read_text())
    data["body"]["key"] = "another"
    data["checksum"] = _checksum(data["body"])
    x.cache.path.write_text(json.dumps(data))
    audited(x)
    assert "written for another key" in x.cache.notes[0]


def test_a_celeba_folder_whose_pixels_change_is_another_key(tmp_path: Path) -> None:
    """A CelebA-format manifest names its images without hashing them: the cache key hashes
    the image files, so an image replaced under the same name is never read from the cache."""
    import numpy as np

    from sia_audit.app.inputs import _image_files_sha256
    from sia_audit.fsutil import atomic_dir
    from sia_audit.probes.celeba import CelebAProbes, Preprocess
    from sia_audit.probes.celeba_writer import CelebAWriter
    from sia_audit.probes.synthfaces.attributes import ATTRIBUTES

    rng = np.random.default_rng(0)
    with atomic_dir(tmp_path / "set") as out:
        writer = CelebAWriter(out, ATTRIBUTES, with_landmarks=False)
        writer.add(images=rng.integers(0, 256, (3, 8, 8, 3), dtype=np.uint8),
                   attrs=rng.random((3, len(ATTRIBUTES))).round(3),
                   partition=np.zeros(3, dtype=np.int64))  # fmt: skip
        writer.close()
    probes = CelebAProbes(tmp_path / "set", ATTRIBUTES, preprocess=Preprocess(None, None))
    before, manifest = _image_files_sha256(probes), probes.manifest_sha256()
    image = probes.image_dir / probes.names[1]
    image.write_bytes(image.read_bytes() + b"\0")  # same name, other bytes
    again = CelebAProbes(tmp_path / "set", ATTRIBUTES, preprocess=Preprocess(None, None))
    assert again.manifest_sha256() == manifest  # the manifest alone would not tell
    assert before is not None and _image_files_sha256(again) != before


def test_no_home_folder_means_no_cache_not_a_crash(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SIA_AUDIT_CACHE", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)

    def no_home() -> Path:
        raise RuntimeError("Could not determine home directory.")

    monkeypatch.setattr(Path, "home", staticmethod(no_home))
    assert default_folder() is None
    monkeypatch.setenv("XDG_CACHE_HOME", "/somewhere")
    assert default_folder() == Path("/somewhere/sia-audit")
