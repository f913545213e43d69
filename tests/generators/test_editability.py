"""The editability check on the shipped generator: it draws all but Male and Brown_Hair; one
made to ignore an attribute has it marked unmeasurable, and the renderer's truth agrees."""

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


# Measured on these 48 probes (2026-11-30, the 9,000-step generator): Male is expressed in 0.48
# of flips and Brown_Hair in 0.73 (0.85 on 512 held-out faces), below min_expression 0.8; every
# other attribute in >= 0.85, the five the first generator could not draw in >= 0.85.
KNOWN_WEAK = {"Male", "Brown_Hair"}
ONCE_UNDRAWN = ("Mustache", "Wearing_Lipstick", "Mouth_Slightly_Open", "Bushy_Eyebrows", "Smiling")


@functools.cache
def check_shipped():
    return check(shipped())


def test_the_shipped_generator_draws_all_but_its_known_weak_attributes() -> None:
    e = check_shipped()
    expression = {a.attribute: a.expression.value for a in e.attributes}
    assert set(e.unmeasurable) <= KNOWN_WEAK, expression
    for name in ONCE_UNDRAWN:
        assert name not in e.unmeasurable and expression[name] >= 0.8, expression
    for a in e.attributes:
        # Even the weak ones move toward the truth: G's edit beats copying the input ...
        assert a.truth is not None and a.truth.gain_db > 1.0, a
        # ... and the classifier itself sees the renderer's true flips.
        assert a.truth.classifier_on_truth.value >= 0.9, a


@pytest.mark.parametrize("name", ["Mustache", "Pale_Skin"])
def test_an_ignored_attribute_is_unmeasurable_and_truth_agrees(name: str) -> None:
    e = check(ignoring(name))
    assert name in e.unmeasurable and set(e.unmeasurable) - {name} <= KNOWN_WEAK
    ignored = e.of(name)
    assert ignored.expression.value < 0.2
    # Zeroed weights draw the attribute half-way on every face, which is nearer the true flip
    # than x0 is, so the gain over copying x0 does not drop to 0 (1.5 dB for Mustache, 5.2 for
    # Pale_Skin, measured); it falls well below the shipped generator's (4.2, 10.8).
    drawn = check_shipped().of(name)
    assert ignored.truth is not None and drawn.truth is not None
    assert ignored.truth.gain_db < 0.6 * drawn.truth.gain_db
