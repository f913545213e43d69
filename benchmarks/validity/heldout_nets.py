"""The held-out suite's networks: the project's SmallCNN and SmallResNet, torchvision models.

torchvision's ImageNet models downsample by 32 before pooling; at 64 px that leaves a 2x2 map
and loses the small features (a moustache is a few pixels). Each is adapted as a user would:
one logit, and the first downsampling made gentler. Random initialisation (nothing is
downloaded).
"""

from __future__ import annotations

from collections.abc import Callable

import torchvision
from torch import Tensor, nn
from torchvision.models.convnext import CNBlockConfig, ConvNeXt
from torchvision.models.vgg import VGG, make_layers

from scripts.training import SmallCNN, SmallResNet


class OneLogit(nn.Module):
    """A (B, 1) classifier returning (B,) logits, as the training loops expect."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net = net

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)[:, 0]


def resnet18() -> nn.Module:
    """ResNet-18, 11.2M parameters; the 7x7 stem conv as a 3x3 (stride 2 kept)."""
    net = torchvision.models.resnet18(num_classes=1)
    net.conv1 = nn.Conv2d(3, 64, 3, stride=2, padding=1, bias=False)
    return OneLogit(net)


def mobilenet_v3_small() -> nn.Module:
    """MobileNetV3-small, 1.5M parameters; its stem conv at stride 1 (4x4 before pooling).

    torchvision builds it with batch-norm momentum 0.01: in 500 steps its running statistics
    lagged so far behind that eval mode predicted one class (training mode: every face right).
    torch's default 0.1, as a user would set after seeing that.
    """
    net = torchvision.models.mobilenet_v3_small(num_classes=1)
    net.features[0][0].stride = (1, 1)
    for module in net.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.momentum = 0.1
    return OneLogit(net)


def regnet_x_400mf() -> nn.Module:
    """RegNetX-400MF, 5.1M parameters, as torchvision builds it: its stem is already a 3x3
    conv (stride 2), so only the head changes."""
    return OneLogit(torchvision.models.regnet_x_400mf(num_classes=1))


def shufflenet_v2() -> nn.Module:
    """ShuffleNetV2 x1.0, 1.3M parameters, as torchvision builds it (stem conv and max-pool at
    stride 2 each): only the head changes."""
    return OneLogit(torchvision.models.shufflenet_v2_x1_0(num_classes=1))


def mobilenet_v2() -> nn.Module:
    """MobileNetV2, 2.2M parameters, as torchvision builds it (stem conv at stride 2, batch-norm
    momentum torch's default): only the head changes."""
    return OneLogit(torchvision.models.mobilenet_v2(num_classes=1))


def googlenet() -> nn.Module:
    """GoogLeNet (Inception v1), 5.6M parameters, as torchvision builds it but for its two
    auxiliary heads, which a user training one logit from scratch turns off (with them, a
    training-mode forward returns three outputs)."""
    return OneLogit(torchvision.models.googlenet(num_classes=1, aux_logits=False,
                                                 init_weights=True))  # fmt: skip


def efficientnet_b0() -> nn.Module:
    """EfficientNet-B0, 4.0M parameters, as torchvision builds it (stem conv at stride 2,
    stochastic depth 0.2, dropout 0.2 before the head) but for its head's initial weights.
    torchvision draws them from U(-1/sqrt(classes), 1/sqrt(classes)): U(-1, 1) for one logit,
    which over 1,280 features starts the logit at about 6 in magnitude (the suite's other
    torchvision networks: 0.01-0.25) and kept the training loss at 2-4 for 200 steps. The head
    gets torch's default initialisation instead, as a user would after seeing that."""
    net = torchvision.models.efficientnet_b0(num_classes=1)
    net.classifier[1].reset_parameters()
    return OneLogit(net)


def squeezenet1_1() -> nn.Module:
    """SqueezeNet 1.1, 0.7M parameters, no batch norm, as torchvision builds it (stem conv and
    max-pool at stride 2 each) but for the ReLU after its 1x1 classifier conv, which would keep
    a single logit at 0 or above (every face predicted positive); a user training one logit
    drops it."""
    net = torchvision.models.squeezenet1_1(num_classes=1)
    net.classifier = nn.Sequential(*(m for m in net.classifier if not isinstance(m, nn.ReLU)))
    return OneLogit(net)


def mnasnet1_0() -> nn.Module:
    """MNASNet 1.0, 3.1M parameters, as torchvision builds it (stem conv at stride 2) but for two
    settings made for ImageNet's long schedules that a user training one logit for 500 steps
    changes after the first run: batch-norm momentum 0.0003, which leaves the running statistics
    at their initial values (eval mode answers about 0 for every face; torch's default 0.1
    instead, as for MobileNetV3-small), and the head's initial weights, drawn from
    U(-sqrt(3), sqrt(3)) for one logit (torch's default initialisation instead, as for
    EfficientNet-B0)."""
    net = torchvision.models.mnasnet1_0(num_classes=1)
    for module in net.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.momentum = 0.1
    net.classifier[1].reset_parameters()
    return OneLogit(net)


def regnet_y_400mf() -> nn.Module:
    """RegNetY-400MF, 3.9M parameters, as torchvision builds it (stem conv at stride 2,
    squeeze-and-excitation in every block, batch-norm momentum torch's default): only the head
    changes. RegNetX-400MF's sibling, with SE blocks and other widths and depths."""
    return OneLogit(torchvision.models.regnet_y_400mf(num_classes=1))


def mobilenet_v3_large() -> nn.Module:
    """MobileNetV3-large, 4.2M parameters, as torchvision builds it (stem conv at stride 2) but
    for its batch-norm momentum 0.01, which left MobileNetV3-small's running statistics so far
    behind in 500 steps that eval mode predicted one class: torch's default 0.1 instead, as for
    MobileNetV3-small. Other widths, depth and squeeze-and-excitation placement than the small
    one."""
    net = torchvision.models.mobilenet_v3_large(num_classes=1)
    for module in net.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.momentum = 0.1
    return OneLogit(net)


def densenet_k12() -> nn.Module:
    """DenseNet-BC with growth rate 12, 1.0M parameters: torchvision's DenseNet with
    DenseNet-121's four blocks (6, 12, 24, 16 layers) at the growth rate its authors used for
    small images, and 24 stem features (twice the growth rate, as they did); stem conv and
    max-pool at stride 2 each, as torchvision builds it. DenseNet-121 itself (growth rate 32)
    trains 3x slower per step here. The first network of the suite whose blocks concatenate
    every earlier feature map."""
    return OneLogit(torchvision.models.DenseNet(growth_rate=12, block_config=(6, 12, 24, 16),
                                                num_init_features=24, num_classes=1))  # fmt: skip


def convnext_atto() -> nn.Module:
    """ConvNeXt at the smallest widths its later versions publish ("atto": 40, 80, 160, 320
    channels in blocks of 2, 2, 6, 2), 3.4M parameters: torchvision's ConvNeXt with its 4x4
    stride-4 patchify stem, 7x7 depthwise convs, layer norm and stochastic depth 0.1, as it builds
    ConvNeXt-Tiny; only the widths, depths and head change. 0.45 s per training step here. The
    first network of the suite with layer norm in place of batch norm and a patchify stem."""
    blocks = [CNBlockConfig(40, 80, 2), CNBlockConfig(80, 160, 2), CNBlockConfig(160, 320, 6),
              CNBlockConfig(320, None, 2)]  # fmt: skip
    return OneLogit(ConvNeXt(blocks, stochastic_depth_prob=0.1, num_classes=1))


def vgg11_quarter() -> nn.Module:
    """VGG-11 with batch norm at a quarter of its widths (16-128 channels), 0.6M parameters:
    torchvision's VGG and its `make_layers`, with the last max-pool dropped (a 4x4 map at 64 px,
    not 2x2) and the three-layer 4096-wide head replaced by one linear layer at torch's default
    initialisation (with VGG's own head and initialisation, scaled to 128 wide, the first pilot
    controls still answered the majority class after 200 steps). The first network of the suite
    with no shortcut connection and no depthwise or grouped convolution: a plain stack of 3x3
    convolutions. A forward and backward pass of 64 faces on one thread took 0.9 s here at half
    widths, 0.26 s at a quarter."""
    cfg: list[str | int] = [16, "M", 32, "M", 64, 64, "M", 128, 128, "M", 128, 128]
    net = VGG(make_layers(cfg, batch_norm=True), num_classes=1)
    net.avgpool = nn.AdaptiveAvgPool2d(1)
    net.classifier = nn.Linear(128, 1)
    return OneLogit(net)


def alexnet_quarter() -> nn.Module:
    """AlexNet at about a quarter of its widths (16-96 channels), with batch norm after each
    convolution, 0.42M parameters: torchvision's `AlexNet`, its five-convolution trunk rebuilt
    with the same kernels (11, 5, 3, 3, 3) and two max-pools, the first convolution at stride
    2 (not 4: at 64 px a 4-pixel stride leaves too little of a moustache), a 4 x 4 pool before
    the head, and its two dropout-guarded hidden layers at 256 wide. The first network of the
    suite with large kernels (11 x 11, 5 x 5). Without batch norm, pilot controls (seed 1, outside
    the cache) still answered the majority class after 150 steps with this round's loop and
    with `adamw-aug`; with it, Bushy_Eyebrows reached 0.97 held-out clean accuracy by step 150
    and Wearing_Lipstick 1.00 by 125. A training step of 64 faces took 0.33 s here."""
    net = torchvision.models.AlexNet(num_classes=1, dropout=0.5)

    def conv(c_in: int, c_out: int, k: int, stride: int = 1) -> list[nn.Module]:
        return [nn.Conv2d(c_in, c_out, k, stride, k // 2), nn.BatchNorm2d(c_out), nn.ReLU(True)]

    net.features = nn.Sequential(
        *conv(3, 16, 11, 2), nn.MaxPool2d(3, 2),
        *conv(16, 48, 5), nn.MaxPool2d(3, 2),
        *conv(48, 96, 3), *conv(96, 64, 3), *conv(64, 64, 3),
    )  # fmt: skip
    net.avgpool = nn.AdaptiveAvgPool2d(4)
    net.classifier = nn.Sequential(
        nn.Dropout(0.5), nn.Linear(64 * 16, 256), nn.ReLU(True),
        nn.Dropout(0.5), nn.Linear(256, 1),
    )  # fmt: skip
    return OneLogit(net)


class NetworkInNetwork(nn.Module):
    """Network in Network (Lin, Chen and Yan, 2013) with batch norm, 0.12M parameters: three
    "mlpconv" blocks (a k x k convolution, then two 1x1 convolutions: a small MLP slid over the
    image), max-pools and dropout between them, and no fully connected layer: the last 1x1
    convolution gives one map, averaged over the image into the logit. The first convolution
    (5 x 5, 48 channels) runs at stride 2: at stride 1 a training step of 64 faces took 1.7 s
    here, at 2 0.6 s. Pilot controls (seed 1, outside the cache; the loop without its saturation
    jitter) reached 0.91 held-out clean accuracy on Bushy_Eyebrows and 0.97 on Wearing_Lipstick
    by step 50."""

    def __init__(self) -> None:
        super().__init__()

        def mlpconv(c_in: int, widths: tuple[int, int, int], k: int, stride: int = 1) -> list:
            a, b, c = widths
            return [
                nn.Conv2d(c_in, a, k, stride, k // 2), nn.BatchNorm2d(a), nn.ReLU(True),
                nn.Conv2d(a, b, 1), nn.BatchNorm2d(b), nn.ReLU(True),
                nn.Conv2d(b, c, 1),
            ]  # fmt: skip

        self.features = nn.Sequential(
            *mlpconv(3, (48, 40, 24), 5, 2), nn.BatchNorm2d(24), nn.ReLU(True),
            nn.MaxPool2d(3, 2, 1), nn.Dropout(0.3),
            *mlpconv(24, (64, 64, 64), 5), nn.BatchNorm2d(64), nn.ReLU(True),
            nn.MaxPool2d(3, 2, 1), nn.Dropout(0.3),
            *mlpconv(64, (96, 96, 1), 3),
        )  # fmt: skip

    def forward(self, x: Tensor) -> Tensor:
        return self.features(x).mean(dim=(2, 3))[:, 0]


NETS: dict[str, Callable[[], nn.Module]] = {
    "cnn": SmallCNN,
    "mobilenet_v3_small": mobilenet_v3_small,
    "resnet18": resnet18,
    "small_resnet": SmallResNet,
    "regnet_x_400mf": regnet_x_400mf,
    "shufflenet_v2": shufflenet_v2,
    "mobilenet_v2": mobilenet_v2,
    "googlenet": googlenet,
    "efficientnet_b0": efficientnet_b0,
    "squeezenet1_1": squeezenet1_1,
    "mnasnet1_0": mnasnet1_0,
    "regnet_y_400mf": regnet_y_400mf,
    "mobilenet_v3_large": mobilenet_v3_large,
    "densenet_k12": densenet_k12,
    "convnext_atto": convnext_atto,
    "vgg11_quarter": vgg11_quarter,
    "alexnet_quarter": alexnet_quarter,
    "nin_bn": NetworkInNetwork,
}
