"""torch.compile behind a flag: the compiled engine gives eager's results, callers' models intact.

Compiling is slow: on this shared 2-core CPU the compiled-attack test took 123 s with an empty
TorchInductor cache under load (the same compilation: 47 s on the idle machine) and 36 s with a
warm cache, for a 16 px AttGAN and a 2-conv target (docs/performance.md, section 6). CUDA graphs
(mode="reduce-overhead") need a GPU: here only their refusal off CUDA is tested.
"""

from __future__ import annotations

import pytest
import torch

from sia_audit.attacks import AttackConfig, attack
from sia_audit.attacks.acceleration import CompiledGenerator, CompiledTarget, accelerate
from sia_audit.errors import UsageError
from sia_audit.generators.interface import Generator
from sia_audit.targets.contract import Target
from tests.attacks.conftest import probes

# Tolerance of compiled vs eager: Inductor fuses and reorders float32 arithmetic, so images and
# losses may differ by a few ulps; the signed-gradient iterates must not move (a flipped sign
# would shift a pixel by eta_x = 1e-3, far above this).
ATOL = 1e-5


def _state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in module.state_dict().items()}


def test_compiled_attack_equals_eager(attgan: Generator, target: Target) -> None:
    x0, a0, y = probes(4)
    before_g, before_t = _state(attgan), _state(target)
    fast_g, fast_t = accelerate(attgan, target, compile=True)
    for variant in ("full", "attr"):  # attr also exercises the no-grad cached encode
        config = AttackConfig.preset("paper", variant=variant, steps=3)
        eager = attack(x0, a0, y, generator=attgan, target=target, task=target.task, config=config)
        compiled = attack(
            x0, a0, y, generator=fast_g, target=fast_t, task=fast_t.task, config=config
        )
        torch.testing.assert_close(compiled.x_T, eager.x_T, atol=ATOL, rtol=0)
        torch.testing.assert_close(compiled.a_T, eager.a_T, atol=ATOL, rtol=0)
        torch.testing.assert_close(compiled.adversary, eager.adversary, atol=ATOL, rtol=0)
        torch.testing.assert_close(compiled.loss_adv, eager.loss_adv, atol=ATOL, rtol=ATOL)
        torch.testing.assert_close(compiled.loss_start, eager.loss_start, atol=ATOL, rtol=ATOL)
    # The caller's modules are shared, not modified: same objects, weights, buffers and mode.
    assert fast_g.inner is attgan and fast_t.model is target.model
    for before, module in ((before_g, attgan), (before_t, target)):
        after = module.state_dict()
        assert all(torch.equal(after[k], v) for k, v in before.items())
    assert not attgan.training and not target.training


def test_wrappers_keep_the_interfaces(attgan: Generator, target: Target) -> None:
    fast_g, fast_t = accelerate(attgan, target, compile=True)  # lazy: nothing compiled yet
    assert isinstance(fast_g, CompiledGenerator) and isinstance(fast_t, CompiledTarget)
    assert fast_g.attr_names == attgan.attr_names and fast_g.image_size == attgan.image_size
    assert fast_t.contract == target.contract and isinstance(fast_t, Target)
    assert not fast_g.training and not fast_t.training


def test_off_returns_the_same_objects(attgan: Generator, target: Target) -> None:
    assert accelerate(attgan, target, compile=False) == (attgan, target)


def test_cuda_graphs_are_refused_off_cuda(attgan: Generator, target: Target) -> None:
    with pytest.raises(UsageError, match="CUDA only"):
        accelerate(attgan, target, compile=True, cuda_graphs=True)
    with pytest.raises(UsageError, match="needs compile"):
        accelerate(attgan, target, compile=False, cuda_graphs=True)
