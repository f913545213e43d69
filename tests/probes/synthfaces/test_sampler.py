"""Attribute sampling: base rates, exclusive hair colours, planted correlations, bad specs."""

from __future__ import annotations

import pytest
import torch

from sia_audit.errors import UsageError
from sia_audit.probes.synthfaces.attributes import ATTRIBUTES, BASE_RATES, HAIR_COLOURS, INDEX
from sia_audit.probes.synthfaces.sampler import AttributeSampler, Correlation, parse_correlations

N = 10_000


def draw(*specs: str, seed: int = 0):
    sampler = AttributeSampler(correlations=parse_correlations(specs))
    return sampler.sample(N, torch.Generator().manual_seed(seed))


def test_base_rates_and_value_ranges() -> None:
    on, values = draw()
    for name in ATTRIBUTES:
        assert float(on[:, INDEX[name]].float().mean()) == pytest.approx(BASE_RATES[name], abs=0.02)
    assert torch.equal(on, values >= 0.5)
    assert torch.equal(values, torch.round(values * 1000) / 1000)
    assert float(values.min()) >= 0.0 and float(values.max()) <= 1.0


def test_hair_colours_are_exclusive() -> None:
    on, _ = draw("Male->Black_Hair@0.9")
    hair = on[:, [INDEX[h] for h in HAIR_COLOURS]].sum(dim=1)
    assert int(hair.max()) <= 1


@pytest.mark.parametrize("spec", ["Eyeglasses->Mustache@0.95", "Male->Wearing_Lipstick@0.05"])
def test_planted_correlation_comes_out_at_the_requested_rate(spec: str) -> None:
    c = Correlation.parse(spec)
    on, _ = draw(spec, seed=3)
    cause = on[:, INDEX[c.cause]]
    rate = float(on[cause, INDEX[c.effect]].float().mean())
    assert rate == pytest.approx(c.p, abs=0.03)
    # Without the cause, the effect keeps its base rate.
    rest = float(on[~cause, INDEX[c.effect]].float().mean())
    assert rest == pytest.approx(BASE_RATES[c.effect], abs=0.03)


def test_same_seed_same_draw() -> None:
    assert torch.equal(draw(seed=9)[1], draw(seed=9)[1])
    assert not torch.equal(draw(seed=9)[1], draw(seed=10)[1])


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        ("Eyeglasses->Mustache", "malformed"),
        ("Eyeglasses=>Mustache@0.5", "malformed"),
        ("", "malformed"),
        ("Eyeglasses->Mustache@1.5", "probability"),
        ("Eyeglasses->Eyeglasses@0.5", "itself"),
        ("Eyeglases->Mustache@0.5", "did you mean 'Eyeglasses'"),
        ("Eyeglasses->Moustache@0.5", "unknown attribute 'Moustache'"),
    ],
)
def test_bad_correlation_specs(spec: str, words: str) -> None:
    with pytest.raises(UsageError, match=words) as info:
        Correlation.parse(spec)
    assert "\n" not in str(info.value)


def test_bad_base_rates() -> None:
    with pytest.raises(UsageError, match="exclusive"):
        AttributeSampler(base_rates={"Black_Hair": 0.5, "Blond_Hair": 0.4, "Brown_Hair": 0.3})
    with pytest.raises(UsageError, match="unknown attribute"):
        AttributeSampler(base_rates={"Goatee": 0.5})
