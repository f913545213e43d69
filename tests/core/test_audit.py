"""audit(): the whole pipeline on tiny models; batch-size invariance and determinism."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import pytest
import torch

from sia_audit.attacks.config import AttackConfig
from sia_audit.audit import AuditConfig, audit
from sia_audit.errors import DataError, UsageError
from sia_audit.metrics import BootstrapConfig
from tests.attacks.conftest import ATTRS, binary_target, tiny_attgan


class FakeProbes:
    """Random 16 px probes labelled with the tiny generator's attributes."""

    def __init__(self, n: int = 10, seed: int = 0, attr_names: Sequence[str] = ATTRS) -> None:
        g = torch.Generator().manual_seed(seed)
        self.attr_names = tuple(attr_names)
        self.names = tuple(f"p{i}" for i in range(n))
        self.attrs = torch.rand(n, len(attr_names), generator=g).round()
        self.landmarks = None
        self._images = torch.rand(n, 3, 16, 16, generator=g)

    def __len__(self) -> int:
        return len(self.names)

    @property
    def output_size(self) -> tuple[int, int]:
        return (16, 16)

    def load_images(self, indices: Sequence[int]) -> torch.Tensor:
        return self._images[list(indices)]

    def manifest_sha256(self) -> str:
        return "fake"


CONFIG = AuditConfig(
    attack=AttackConfig(steps=6, eta_x=1 / 255, eta_a=0.05, eps_x=4 / 255),
    baselines=("fgsm", "pgd"),
    bootstrap=BootstrapConfig(resamples=200, seed=3),
    subpopulations=("Male",),
    gallery=4,
)


def run(batch_size: int, **changes):
    cfg = dataclasses.replace(CONFIG, batch_size=batch_size, **changes)
    return audit(FakeProbes(), tiny_attgan(), binary_target(), cfg)


def test_audit_measures_every_figure() -> None:
    result = run(4)
    assert result.frozen == ("Eyeglasses",)  # the target's own attribute
    assert "Eyeglasses" not in result.sensitivity.attributes
    assert set(result.attacks) == {"full", "fgsm", "pgd"}
    main = result.main.probes
    assert main.a_T.shape == (10, len(ATTRS)) and main.effects.shape == (10, len(ATTRS))
    assert float(main.delta[:, ATTRS.index("Eyeglasses")].abs().max()) == 0.0
    assert float(main.delta.abs().max()) <= 6 * 0.05 + 1e-6
    assert result.attacks["pgd"].probes.a_T is None
    assert 0.0 <= result.main.attack_success_rate.value <= 1.0
    assert len(result.gallery) == 4 and result.gallery[0].adversary.dtype == torch.uint8
    assert "Male" in result.subpopulations
    assert result.provenance["probe_manifest_sha256"] == "fake"


def test_batch_size_does_not_change_any_number() -> None:
    one, many = run(1), run(7)
    for name in one.attacks:
        a, b = one.attacks[name].probes, many.attacks[name].probes
        for field in ("loss_adv", "error_adv", "psnr_x0", "ssim_x0"):
            assert torch.allclose(getattr(a, field), getattr(b, field), atol=1e-5), (name, field)
    assert torch.allclose(one.main.probes.a_T, many.main.probes.a_T, atol=1e-6)
    s1 = [e.value for e in one.sensitivity.s]
    s2 = [e.value for e in many.sensitivity.s]
    assert s1 == pytest.approx(s2, abs=1e-6)


def test_same_inputs_same_figures() -> None:
    a, b = run(4), run(4)
    assert a.sensitivity.as_dict() == b.sensitivity.as_dict()
    assert a.main.attack_success_rate == b.main.attack_success_rate


def test_radius_override_and_single_attribute_mode() -> None:
    result = run(5, radii={"Eyeglasses": 0.1, "Bald": 0.0}, single_attribute=True, effects=False)
    assert result.frozen == ("Bald",)
    delta = result.main.probes.delta
    assert float(delta[:, ATTRS.index("Eyeglasses")].abs().max()) <= 0.1 + 1e-6
    assert result.single_attribute is not None and result.effects is None


def test_mismatches_are_clear_errors() -> None:
    with pytest.raises(DataError):
        audit(
            FakeProbes(attr_names=("Bald", "Bangs", "Eyeglasses", "Male", "Young")),
            tiny_attgan(),
            binary_target(),
            CONFIG,
        )
    with pytest.raises(UsageError, match="main attack"):
        AuditConfig(attack=AttackConfig(variant="pgd"))
    with pytest.raises(UsageError, match="unknown attributes"):
        run(4, radii={"Goatee": 0.1})


def test_compile_options_reach_the_audit_and_cuda_graphs_need_a_gpu() -> None:
    with pytest.raises(UsageError, match="cuda_graphs needs torch_compile"):
        AuditConfig(cuda_graphs=True)
    if not torch.cuda.is_available():
        with pytest.raises(UsageError, match="CUDA only"):
            run(4, torch_compile=True, cuda_graphs=True)


def test_policy_compile_flags_reach_the_audit_config(tmp_path) -> None:  # noqa: ANN001
    from sia_audit.app.inputs import audit_config
    from sia_audit.policy import load_policy

    path = tmp_path / "policy.yaml"
    path.write_text("attack: {torch_compile: true}\n")
    config = audit_config(load_policy(path), "cpu", None)
    assert config.torch_compile and not config.cuda_graphs
