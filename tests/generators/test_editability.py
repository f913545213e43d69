"""The editability check on the shipped generator: it draws every attribute; one made to ignore
an attribute has it marked unmeasurable, and the renderer's truth agrees."""

from __future__ import annotations

import functools

import pytest
import torch

from sia_audit.app.inputs import BUILTIN, generator_path
from sia_audit.generators.attgan import AttGANGenerator
from sia_audit.generators.checkpoint import load_generator
from sia_audit.generators.classifiers import resolve_classifier, shipped_classifier_path
from sia_audit.generators.editability import measure_editability
from sia_audit.metrics import BootstrapConfig
from sia_audit.probes.synthetic import SynthProbes

FAST = BootstrapConfig(resamples=200)


@functools.cache
def probes() -> SynthProbes:
    return SynthProbes(count=48, seed=11)


def shipped() -> AttGANGenerator:
    return load_generator(generator_path(BUILTIN))


def ignoring(name: str) -> AttGANGenerator:
    """The shipped generator with every input weight of attribute `name` set to zero."""
    g = shipped()
    k, j = g.num_attrs, g.attr_names.index(name)
    net = g.net
    with torch.no_grad():
        for i, block in enumerate(net.dec_layers):
            # Attributes are the last K input channels of layer 0 and of each inject layer.
            if i == 0 or i - 1 < net.inject_layers:
                weight = block.layers[0].weight  # ConvTranspose2d: (in, out, kh, kw)
                weight[weight.shape[0] - k + j].zero_()
    return g


def check(generator: AttGANGenerator):
    classifier = resolve_classifier(None, BUILTIN, shipped_classifier_path(), generator)
    assert classifier is not None
    return measure_editability(probes(), generator, classifier, config=FAST)


def test_the_shipped_generator_draws_every_attribute() -> None:
    e = check(shipped())
    assert e.unmeasurable == (), {a.attribute: a.expression.value for a in e.attributes}
    for a in e.attributes:
        assert a.truth is not None and a.truth.gain_db > 0, a
        # The classifier itself sees the renderer's true flips.
        assert a.truth.classifier_on_truth.value >= 0.9, a


@pytest.mark.parametrize("name", ["Mustache", "Pale_Skin"])
def test_an_ignored_attribute_is_unmeasurable_and_truth_agrees(name: str) -> None:
    e = check(ignoring(name))
    assert e.unmeasurable == (name,)
    ignored = e.of(name)
    assert ignored.expression.value < 0.2
    assert ignored.truth is not None and ignored.truth.gain_db < 0.5
