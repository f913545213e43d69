"""AttGAN architecture: reference-compatible state_dict layout and the [0, 1] generator wrapper."""

from __future__ import annotations

import pytest
import torch

from sia_audit.errors import ModelError
from sia_audit.generators.attgan import AttGANGenerator, AttGANNet, Discriminators
from sia_audit.generators.interface import Generator as GeneratorInterface
from sia_audit.generators.interface import map_latent
from sia_audit.probes.synthfaces.attributes import ATTRIBUTES

SMALL = {
    "img_size": 64,
    "enc_dim": 32,
    "dec_dim": 32,
    "enc_layers": 4,
    "dec_layers": 4,
    "shortcut_layers": 1,
    "inject_layers": 1,
}


def _shapes(module: torch.nn.Module) -> dict[str, list[int]]:
    return {k: list(v.shape) for k, v in module.state_dict().items()}


def _meta_generator(**kwargs: object) -> AttGANNet:
    # The reference default holds ~40M weights: build it without allocating them.
    with torch.device("meta"):
        return AttGANNet(**kwargs)  # type: ignore[arg-type]


def _bn_keys(prefix: str) -> list[str]:
    return [
        f"{prefix}.layers.0.weight",
        f"{prefix}.layers.1.weight",
        f"{prefix}.layers.1.bias",
        f"{prefix}.layers.1.running_mean",
        f"{prefix}.layers.1.running_var",
        f"{prefix}.layers.1.num_batches_tracked",
    ]


@pytest.fixture(scope="module")
def small() -> AttGANGenerator:
    torch.manual_seed(0)
    g = AttGANGenerator.from_settings(SMALL, ATTRIBUTES)
    # Non-trivial running statistics, so eval-mode batch independence is really exercised.
    for name, buf in g.net.named_buffers():
        if name.endswith("running_mean"):
            buf.normal_(0, 0.1)
        elif name.endswith("running_var"):
            buf.uniform_(0.5, 1.5)
    return g


def test_reference_default_generator_layout_is_pinned() -> None:
    shapes = _shapes(_meta_generator())
    assert len(shapes) == 56
    expected_keys = [k for i in range(5) for k in _bn_keys(f"enc_layers.{i}")]
    expected_keys += [k for i in range(4) for k in _bn_keys(f"dec_layers.{i}")]
    expected_keys += ["dec_layers.4.layers.0.weight", "dec_layers.4.layers.0.bias"]
    assert list(shapes) == expected_keys
    assert shapes["enc_layers.0.layers.0.weight"] == [64, 3, 4, 4]
    assert shapes["enc_layers.4.layers.0.weight"] == [1024, 512, 4, 4]
    assert shapes["dec_layers.0.layers.0.weight"] == [1037, 1024, 4, 4]
    assert shapes["dec_layers.1.layers.0.weight"] == [1536, 512, 4, 4]
    assert shapes["dec_layers.4.layers.0.weight"] == [128, 3, 4, 4]


def test_fifteen_attributes_with_injection_widen_the_first_two_decoder_inputs() -> None:
    shapes = _shapes(_meta_generator(n_attrs=15, inject_layers=1))
    assert len(shapes) == 56
    assert shapes["dec_layers.0.layers.0.weight"] == [1039, 1024, 4, 4]
    assert shapes["dec_layers.1.layers.0.weight"] == [1551, 512, 4, 4]
    assert shapes["dec_layers.2.layers.0.weight"] == [512, 256, 4, 4]


def test_no_norm_means_conv_bias_and_instancenorm_has_no_running_stats() -> None:
    shapes = _shapes(
        AttGANNet(
            enc_norm="none",
            dec_norm="instancenorm",
            img_size=32,
            enc_dim=4,
            dec_dim=4,
            enc_layers=3,
            dec_layers=3,
        )
    )
    assert "enc_layers.0.layers.0.bias" in shapes
    assert "enc_layers.0.layers.1.weight" not in shapes  # the LeakyReLU has no parameters
    assert "dec_layers.0.layers.0.bias" not in shapes
    assert "dec_layers.0.layers.1.weight" in shapes
    assert not any("running" in k for k in shapes)


def test_discriminator_keys_match_the_reference() -> None:
    with torch.device("meta"):
        d = Discriminators()
    shapes = _shapes(d)
    expected = [
        k
        for i in range(5)
        for k in (
            f"conv.{i}.layers.0.weight",
            f"conv.{i}.layers.1.weight",
            f"conv.{i}.layers.1.bias",
        )
    ]
    for head in ("fc_adv", "fc_cls"):
        expected += [f"{head}.{j}.layers.0.{p}" for j in (0, 1) for p in ("weight", "bias")]
    assert list(shapes) == expected
    assert shapes["fc_adv.0.layers.0.weight"] == [1024, 1024 * 4 * 4]
    assert shapes["fc_adv.1.layers.0.weight"] == [1, 1024]
    assert shapes["fc_cls.1.layers.0.weight"] == [13, 1024]


def test_discriminator_fc_instancenorm_keeps_the_reference_unsqueeze_layout() -> None:
    with torch.device("meta"):
        d = Discriminators(norm="batchnorm", fc_norm="instancenorm", n_attrs=15)
    shapes = _shapes(d)
    assert "conv.0.layers.1.running_mean" in shapes
    assert "fc_adv.0.layers.0.bias" not in shapes
    assert shapes["fc_adv.0.layers.2.weight"] == [1024]
    assert shapes["fc_cls.1.layers.0.weight"] == [15, 1024]


@pytest.mark.parametrize(
    "kwargs",
    [{"enc_norm": "layernorm"}, {"dec_acti": "gelu"}, {"img_size": 100}, {"dec_layers": 4}],
)
def test_unsupported_architectures_are_model_errors(kwargs: dict[str, object]) -> None:
    with pytest.raises(ModelError, match="AttGAN"), torch.device("meta"):
        AttGANNet(**kwargs)  # type: ignore[arg-type]


def test_small_forward_shapes_and_range(small: AttGANGenerator) -> None:
    assert isinstance(small, GeneratorInterface)
    assert small.attr_names == ATTRIBUTES and small.image_size == 64 and small.num_attrs == 15
    assert not small.training
    x = torch.rand(2, 3, 64, 64)
    a = torch.rand(2, 15)
    z = small.encode(x)
    assert [tuple(t.shape) for t in z] == [
        (2, 32, 32, 32),
        (2, 64, 16, 16),
        (2, 128, 8, 8),
        (2, 256, 4, 4),
    ]
    y = small(x, a)
    assert y.shape == (2, 3, 64, 64)
    assert y.min() >= 0 and y.max() <= 1


def test_wrapper_maps_units_as_the_reference_expects(small: AttGANGenerator) -> None:
    x, a = torch.rand(2, 3, 64, 64), torch.rand(2, 15)
    with torch.no_grad():
        raw = small.net(x * 2 - 1, (a * 2 - 1) * 0.5)
        assert torch.equal(small(x, a), (raw + 1) / 2)


def test_gradients_reach_images_and_attributes(small: AttGANGenerator) -> None:
    x = torch.rand(2, 3, 64, 64, requires_grad=True)
    a = torch.rand(2, 15, requires_grad=True)
    small(x, a).square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    assert a.grad is not None and (a.grad.abs() > 0).all()


def test_decode_of_encode_equals_call_exactly(small: AttGANGenerator) -> None:
    x, a = torch.rand(2, 3, 64, 64), torch.rand(2, 15)
    with torch.no_grad():
        assert torch.equal(small.decode(small.encode(x), a), small(x, a))


def test_eval_mode_makes_batch_composition_irrelevant(small: AttGANGenerator) -> None:
    torch.manual_seed(1)
    x, a = torch.rand(4, 3, 64, 64), torch.rand(4, 15)
    with torch.no_grad():
        batch = small(x, a)
        single = small(x[2:3], a[2:3])
        # An encoded batch can be indexed and reused, as the attack engine does.
        part = small.decode(map_latent(small.encode(x), lambda t: t[2:3]), a[2:3])
    torch.testing.assert_close(single, batch[2:3], atol=1e-5, rtol=0)
    torch.testing.assert_close(part, batch[2:3], atol=1e-5, rtol=0)


def test_wrong_inputs_are_model_errors(small: AttGANGenerator) -> None:
    with pytest.raises(ModelError, match=r"\(B, 3, 64, 64\)"):
        small.encode(torch.rand(1, 3, 32, 32))
    z = small.encode(torch.rand(1, 3, 64, 64))
    with pytest.raises(ModelError, match="15"):
        small.decode(z, torch.rand(1, 13))


def test_attribute_names_must_fit_the_network() -> None:
    with torch.device("meta"):
        net = AttGANNet(n_attrs=15)
    with pytest.raises(ModelError, match="15 attribute inputs but 13"):
        AttGANGenerator(net, ATTRIBUTES[:13])
    with pytest.raises(ModelError, match="distinct"):
        AttGANGenerator(net, (*ATTRIBUTES[:14], "Bald"))
