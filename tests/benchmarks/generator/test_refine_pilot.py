"""The refinement pilot starts exactly at the generator it refines, and its head learns."""

from __future__ import annotations

import torch

from benchmarks.generator.refine_pilot import Refined
from sia_audit.generators.attgan import AttGANGenerator


def _tiny() -> AttGANGenerator:
    torch.manual_seed(0)
    settings = {"enc_dim": 4, "dec_dim": 4, "enc_layers": 2, "dec_layers": 2, "img_size": 16}
    return AttGANGenerator.from_settings(settings, ["A", "B", "C"])


def test_at_step_zero_the_head_changes_nothing() -> None:
    g = _tiny()
    model = Refined(g, width=5).eval()
    x, a = torch.rand(2, 3, 16, 16), torch.rand(2, 3)
    assert torch.allclose(model(x, a), g(x, a), atol=1e-6)


def test_the_head_gets_gradients_and_moves_the_output() -> None:
    model = Refined(_tiny(), width=5).train()
    x, a = torch.rand(2, 3, 16, 16), torch.rand(2, 3)
    before = model(x, a).detach()
    opt = torch.optim.SGD(model.head.parameters(), lr=0.5)
    loss = (model(x, a) - 1.0).abs().mean()  # pull every pixel to white
    loss.backward()
    assert model.head[-1].weight.grad is not None
    assert float(model.head[-1].weight.grad.abs().sum()) > 0
    opt.step()
    with torch.no_grad():
        assert float(model(x, a).mean()) > float(before.mean())
