"""The built-in synthfaces probe set matches an export of the same seed, face for face."""

from __future__ import annotations

from pathlib import Path

import torch

from sia_audit.probes.celeba import CelebAProbes, Preprocess
from sia_audit.probes.interface import ProbeSet
from sia_audit.probes.synthetic import SynthProbes
from sia_audit.probes.synthfaces.attributes import ATTRIBUTES
from sia_audit.probes.synthfaces.dataset import synthesize


def test_builtin_probes_equal_an_export_of_the_same_seed(tmp_path: Path) -> None:
    probes = SynthProbes(count=12, seed=4)
    synthesize(tmp_path / "s", 12, 4)
    disk = CelebAProbes(tmp_path / "s", ATTRIBUTES, preprocess=Preprocess(None, None))
    assert isinstance(probes, ProbeSet) and isinstance(disk, ProbeSet)
    assert torch.equal(probes.attrs, disk.attrs)
    assert torch.allclose(probes.landmarks, disk.landmarks, atol=1e-3)
    # Files hold 8-bit pixels: the same faces up to rounding.
    diff = (probes.load_images(range(12)) - disk.load_images(range(12))).abs().max()
    assert float(diff) <= 0.5 / 255 + 1e-6


def test_manifest_depends_on_what_defines_the_set() -> None:
    a = SynthProbes(count=8, seed=1).manifest_sha256()
    assert a == SynthProbes(count=8, seed=1).manifest_sha256()
    assert a != SynthProbes(count=8, seed=2).manifest_sha256()
    assert a != SynthProbes(count=9, seed=1).manifest_sha256()
    assert len(SynthProbes(count=3, size=128).load_images([0, 2])) == 2
