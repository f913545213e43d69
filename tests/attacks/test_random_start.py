"""A random start (what `generate` uses for several adversaries of one image): another path,
inside the same bounds, reproducible from its seed; off by default."""

from __future__ import annotations

import torch

from sia_audit.attacks.config import AttackConfig
from sia_audit.attacks.engine import attack
from tests.attacks.conftest import probes
from tests.attacks.test_path_attribution import linear_models, run


def test_a_random_start_takes_another_path_inside_the_bounds() -> None:
    base = run("full")
    again = run("full")
    torch.testing.assert_close(base.adversary, again.adversary)  # no randomness by default
    gen, target = linear_models()
    x, a, y = probes(6, size=8)
    x, a = x * 0.5 + 0.25, a * 0.5 + 0.25
    kw = {"generator": gen, "target": target, "task": target.task}
    results = []
    for seed in (1, 2):
        config = AttackConfig(steps=5, eta_x=1 / 255, eta_a=0.02, eps_x=4 / 255,
                              random_start=True, seed=seed)  # fmt: skip
        results.append(attack(x, a, y, config=config, **kw))
    one, two = results
    assert not torch.equal(one.a_T, two.a_T)  # two seeds, two adversaries
    assert float((one.x_T - x).abs().max()) <= 4 / 255 + 1e-6  # still in the eps_x ball
    assert one.a0 is not None and torch.equal(one.a0, a)  # sensitivity still from a0
    config = AttackConfig(steps=5, eta_x=1 / 255, eta_a=0.02, eps_x=4 / 255,
                          random_start=True, seed=1)  # fmt: skip
    same = attack(x, a, y, config=config, **kw)
    torch.testing.assert_close(same.adversary, one.adversary)  # a seed is a seed
