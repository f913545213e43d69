"""The held-out suite's networks: one logit per 64-px face, and the fixes each docstring names."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from benchmarks.validity.heldout_nets import NETS


@pytest.mark.parametrize("name", sorted(NETS))
def test_each_net_gives_one_logit_per_face_at_64_px(name: str) -> None:
    torch.manual_seed(0)
    net = NETS[name]().eval()
    with torch.no_grad():
        out = net(torch.rand(2, 3, 64, 64))
    assert out.shape == (2,) and torch.isfinite(out).all()


@pytest.mark.parametrize("name", ["mobilenet_v3_small", "mobilenet_v3_large", "mnasnet1_0"])
def test_batch_norm_statistics_follow_training_at_torch_s_default(name: str) -> None:
    norms = [m for m in NETS[name]().modules() if isinstance(m, nn.BatchNorm2d)]
    assert norms and {m.momentum for m in norms} == {0.1}


@pytest.mark.parametrize(
    "name", ["efficientnet_b0", "mnasnet1_0", "vgg11_quarter", "alexnet_quarter"]
)
def test_a_head_starts_its_logit_near_zero(name: str) -> None:
    """torchvision's head initialisation for one class starts the logit at several units."""
    torch.manual_seed(0)
    head = [m for m in NETS[name]().modules() if isinstance(m, nn.Linear)][-1]
    bound = 1 / head.in_features**0.5  # torch's default: U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    assert head.out_features == 1 and head.weight.abs().max() <= bound


def test_squeezenet_s_logit_can_be_negative() -> None:
    torch.manual_seed(0)
    net = NETS["squeezenet1_1"]()
    assert not any(isinstance(m, nn.ReLU) for m in net.net.classifier)


def test_vgg_is_a_plain_stack_of_3x3_convolutions_ending_at_4x4() -> None:
    net = NETS["vgg11_quarter"]()
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == 8 and {m.kernel_size for m in convs} == {(3, 3)}
    assert {m.groups for m in convs} == {1}
    assert len([m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]) == 8
    with torch.no_grad():
        assert net.net.features(torch.rand(1, 3, 64, 64)).shape == (1, 128, 4, 4)


def test_alexnet_has_its_large_kernels_batch_norm_and_a_7x7_map_pooled_to_4x4() -> None:
    net = NETS["alexnet_quarter"]()
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert [m.kernel_size[0] for m in convs] == [11, 5, 3, 3, 3]
    assert convs[0].stride == (2, 2) and {m.groups for m in convs} == {1}
    assert len([m for m in net.modules() if isinstance(m, nn.BatchNorm2d)]) == 5
    with torch.no_grad():
        assert net.net.features(torch.rand(1, 3, 64, 64)).shape == (1, 64, 7, 7)
        assert net.eval()(torch.rand(2, 3, 64, 64)).shape == (2,)


def test_network_in_network_has_mlpconv_blocks_and_no_fully_connected_layer() -> None:
    net = NETS["nin_bn"]()
    assert not any(isinstance(m, nn.Linear) for m in net.modules())
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert [m.kernel_size[0] for m in convs] == [5, 1, 1, 5, 1, 1, 3, 1, 1]
    assert convs[0].stride == (2, 2) and convs[-1].out_channels == 1
    with torch.no_grad():
        assert net.features(torch.rand(1, 3, 64, 64)).shape == (1, 1, 8, 8)
        assert net.eval()(torch.rand(2, 3, 64, 64)).shape == (2,)
