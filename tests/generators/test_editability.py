"""The editability check on the shipped generator: on the policies' probes it draws every
attribute; one made to ignore an attribute has it marked unmeasurable, and the renderer's truth
agrees."""

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
    """The probe set of the shipped policies and the demo (64 faces, seed 0)."""
    return SynthProbes(count=64, seed=0)


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


# Measured on these 64 probes (2026-12-02, the shipped stage-1 generator): every attribute is
# expressed in >= 0.828 of flips (the least: Young 0.828, Male 0.844); stage 0 left Male at 0.36
# and Young at 0.78 here. The audit's probes are what this is about: on 48 other faces (seed 11)
# Brown_Hair reached 0.792 (38 of 48), on 512 held-out faces 0.889 [0.859, 0.916]
# (docs/generator.md), so an audit on another probe set may still find one unmeasurable.
ONCE_UNDRAWN = ("Mustache", "Wearing_Lipstick", "Mouth_Slightly_Open", "Bushy_Eyebrows", "Smiling")


@functools.cache
def check_shipped():
    return check(shipped())


def test_the_shipped_generator_draws_every_attribute_on_the_policies_probes() -> None:
    e = check_shipped()
    expression = {a.attribute: a.expression.value for a in e.attributes}
    assert e.unmeasurable == (), expression
    for name in ONCE_UNDRAWN:
        assert name not in e.unmeasurable and expression[name] >= 0.8, expression
    for a in e.attributes:
        # Every edit moves toward the truth: G's edit beats copying the input ...
        assert a.truth is not None and a.truth.gain_db > 1.0, a
        # ... and the classifier itself sees the renderer's true flips.
        assert a.truth.classifier_on_truth.value >= 0.9, a


@pytest.mark.parametrize("name", ["Mustache", "Pale_Skin"])
def test_an_ignored_attribute_is_unmeasurable_and_truth_agrees(name: str) -> None:
    e = check(ignoring(name))
    assert name in e.unmeasurable
    # The ignored attribute, drawn half-way on every face, can tip a neighbour that sits near the
    # threshold (measured: Male, 0.844, drops out with Mustache; Young, 0.828, with Pale_Skin);
    # an attribute with room to spare must stay measurable.
    marginal = {a.attribute for a in check_shipped().attributes if a.expression.value < 0.85}
    assert set(e.unmeasurable) - {name} <= marginal
    ignored = e.of(name)
    assert ignored.expression.value < 0.2
    # Zeroed weights draw the attribute half-way on every face, which is nearer the true flip
    # than x0 is, so the gain over copying x0 does not drop to 0 (1.5 dB for Mustache, 4.7 for
    # Pale_Skin, measured); it falls well below the shipped generator's (4.5, 11.1).
    drawn = check_shipped().of(name)
    assert ignored.truth is not None and drawn.truth is not None
    assert ignored.truth.gain_db < 0.6 * drawn.truth.gain_db
