"""AttGAN, state_dict-compatible with elvisyjlin/AttGAN-PyTorch, and its [0, 1] wrapper."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import Tensor, nn

from sia_audit.errors import ModelError
from sia_audit.generators import interface

# The reference caps every conv width at 64 * 16 channels.
MAX_DIM = 1024
NORMS = ("none", "batchnorm", "instancenorm")
ACTIVATIONS = ("none", "relu", "lrelu", "sigmoid", "tanh")

# Constructor arguments of `AttGANNet` (the reference's `Generator`), named as in its setting.txt,
# with its defaults.
GENERATOR_DEFAULTS: dict[str, Any] = {
    "enc_dim": 64,
    "enc_layers": 5,
    "enc_norm": "batchnorm",
    "enc_acti": "lrelu",
    "dec_dim": 64,
    "dec_layers": 5,
    "dec_norm": "batchnorm",
    "dec_acti": "relu",
    "n_attrs": 13,
    "shortcut_layers": 1,
    "inject_layers": 0,
    "img_size": 128,
}


def _check_choice(kind: str, value: str, choices: tuple[str, ...]) -> None:
    if value not in choices:
        raise ModelError(f"unsupported AttGAN {kind} {value!r}; use one of {', '.join(choices)}")


def _norm_2d(kind: str, n: int) -> list[nn.Module]:
    _check_choice("normalisation", kind, NORMS)
    if kind == "batchnorm":
        return [nn.BatchNorm2d(n)]
    if kind == "instancenorm":
        return [nn.InstanceNorm2d(n, affine=True)]
    return []


class _Unsqueeze(nn.Module):
    """Adds a trailing length-1 axis (parameter-free; kept so Sequential indices match)."""

    def forward(self, x: Tensor) -> Tensor:
        return x.unsqueeze(-1)


class _Squeeze(nn.Module):
    """Removes the trailing axis added by `_Unsqueeze`."""

    def forward(self, x: Tensor) -> Tensor:
        return x.squeeze(-1)


def _norm_1d(kind: str, n: int) -> list[nn.Module]:
    _check_choice("normalisation", kind, NORMS)
    if kind == "batchnorm":
        return [nn.BatchNorm1d(n)]
    if kind == "instancenorm":
        # The reference wraps InstanceNorm1d in unsqueeze/squeeze, which shifts the index of
        # the activation and of the norm's own keys (`layers.2.weight`): keep that layout.
        return [_Unsqueeze(), nn.InstanceNorm1d(n, affine=True), _Squeeze()]
    return []


def _activation(kind: str) -> list[nn.Module]:
    _check_choice("activation", kind, ACTIVATIONS)
    if kind == "relu":
        return [nn.ReLU()]
    if kind == "lrelu":
        return [nn.LeakyReLU(0.01)]
    if kind == "sigmoid":
        return [nn.Sigmoid()]
    if kind == "tanh":
        return [nn.Tanh()]
    return []


class LinearBlock(nn.Module):
    """Linear -> norm -> activation; the linear layer has a bias only without a norm."""

    def __init__(self, n_in: int, n_out: int, norm: str = "none", acti: str = "none") -> None:
        super().__init__()
        main = nn.Linear(n_in, n_out, bias=norm == "none")
        self.layers = nn.Sequential(main, *_norm_1d(norm, n_out), *_activation(acti))

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)


class Conv2dBlock(nn.Module):
    """4x4 stride-2 convolution -> norm -> activation (halves the spatial size)."""

    def __init__(self, n_in: int, n_out: int, norm: str = "none", acti: str = "none") -> None:
        super().__init__()
        main = nn.Conv2d(n_in, n_out, 4, stride=2, padding=1, bias=norm == "none")
        self.layers = nn.Sequential(main, *_norm_2d(norm, n_out), *_activation(acti))

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)


class ConvTranspose2dBlock(nn.Module):
    """4x4 stride-2 transposed convolution -> norm -> activation (doubles the spatial size)."""

    def __init__(self, n_in: int, n_out: int, norm: str = "none", acti: str = "none") -> None:
        super().__init__()
        main = nn.ConvTranspose2d(n_in, n_out, 4, stride=2, padding=1, bias=norm == "none")
        self.layers = nn.Sequential(main, *_norm_2d(norm, n_out), *_activation(acti))

    def forward(self, x: Tensor) -> Tensor:
        return self.layers(x)


def _check_int(name: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ModelError(f"AttGAN setting {name}={value!r} is invalid; use an integer >= {minimum}")
    return value


def _tile(a: Tensor, size: int) -> Tensor:
    return a[:, :, None, None].expand(-1, -1, size, size)


class AttGANNet(nn.Module):
    """The reference's AttGAN generator: pixels in [-1, 1], attributes already (2a-1)*thres_int.

    Encoder: `enc_layers` Conv2dBlocks of width min(enc_dim * 2^i, 1024). Decoder: the deepest
    feature concatenated with the tiled attributes, then `dec_layers - 1` ConvTranspose2dBlocks of
    width min(dec_dim * 2^(L-1-i), 1024), each followed (for i < shortcut_layers) by the encoder
    feature of the same resolution and then (for i < inject_layers) by the tiled attributes, and
    a last ConvTranspose2dBlock to 3 channels with tanh.
    """

    def __init__(
        self,
        enc_dim: int = 64,
        enc_layers: int = 5,
        enc_norm: str = "batchnorm",
        enc_acti: str = "lrelu",
        dec_dim: int = 64,
        dec_layers: int = 5,
        dec_norm: str = "batchnorm",
        dec_acti: str = "relu",
        n_attrs: int = 13,
        shortcut_layers: int = 1,
        inject_layers: int = 0,
        img_size: int = 128,
    ) -> None:
        super().__init__()
        _check_int("enc_dim", enc_dim, 1)
        _check_int("dec_dim", dec_dim, 1)
        _check_int("enc_layers", enc_layers, 2)
        _check_int("dec_layers", dec_layers, 2)
        _check_int("n_attrs", n_attrs, 1)
        _check_int("shortcut_layers", shortcut_layers, 0)
        _check_int("inject_layers", inject_layers, 0)
        _check_int("img_size", img_size, 1)
        if enc_layers != dec_layers:
            # The reference pairs decoder layer i with encoder feature L-2-i and tiles the
            # attributes at the encoder's bottom size; unequal depths give mismatched sizes.
            raise ModelError(
                f"AttGAN enc_layers={enc_layers} and dec_layers={dec_layers} differ; "
                "use the same number of encoder and decoder layers"
            )
        if img_size % 2**enc_layers:
            raise ModelError(
                f"AttGAN img_size={img_size} is not divisible by 2^enc_layers={2**enc_layers}; "
                "choose an image size that is a multiple of it"
            )
        self.enc_dim, self.dec_dim = enc_dim, dec_dim
        self.enc_norm, self.enc_acti = enc_norm, enc_acti
        self.dec_norm, self.dec_acti = dec_norm, dec_acti
        self.n_attrs, self.img_size = n_attrs, img_size
        # Like the reference, more shortcut/inject layers than decoder joints silently saturate.
        self.shortcut_layers = min(shortcut_layers, dec_layers - 1)
        self.inject_layers = min(inject_layers, dec_layers - 1)
        self.f_size = img_size // 2**enc_layers

        enc_widths = [min(enc_dim * 2**i, MAX_DIM) for i in range(enc_layers)]
        blocks: list[nn.Module] = []
        n_in = 3
        for width in enc_widths:
            blocks.append(Conv2dBlock(n_in, width, enc_norm, enc_acti))
            n_in = width
        self.enc_layers = nn.ModuleList(blocks)

        blocks = []
        n_in = enc_widths[-1] + n_attrs
        for i in range(dec_layers - 1):
            width = min(dec_dim * 2 ** (dec_layers - 1 - i), MAX_DIM)
            blocks.append(ConvTranspose2dBlock(n_in, width, dec_norm, dec_acti))
            n_in = width
            if i < self.shortcut_layers:
                # The reference writes this as n_in // 2, which equals the encoder width
                # whenever enc_dim == dec_dim (every configuration it can run).
                n_in += enc_widths[enc_layers - 2 - i]
            if i < self.inject_layers:
                n_in += n_attrs
        blocks.append(ConvTranspose2dBlock(n_in, 3, "none", "tanh"))
        self.dec_layers = nn.ModuleList(blocks)

    @property
    def settings(self) -> dict[str, Any]:
        """Constructor arguments that rebuild this architecture (setting.txt names)."""
        return {
            "enc_dim": self.enc_dim,
            "enc_layers": len(self.enc_layers),
            "enc_norm": self.enc_norm,
            "enc_acti": self.enc_acti,
            "dec_dim": self.dec_dim,
            "dec_layers": len(self.dec_layers),
            "dec_norm": self.dec_norm,
            "dec_acti": self.dec_acti,
            "n_attrs": self.n_attrs,
            "shortcut_layers": self.shortcut_layers,
            "inject_layers": self.inject_layers,
            "img_size": self.img_size,
        }

    def encode(self, x: Tensor) -> list[Tensor]:
        """Every encoder block's output, shallowest first."""
        zs = []
        for block in self.enc_layers:
            x = block(x)
            zs.append(x)
        return zs

    def decode_features(self, zs: Sequence[Tensor], a: Tensor) -> Tensor:
        """What the last decoder block reads: the features at half the image size."""
        depth = len(self.enc_layers)
        z = torch.cat([zs[-1], _tile(a, self.f_size)], dim=1)
        for i, block in enumerate(self.dec_layers[:-1]):
            z = block(z)
            # Order matters for the weights: decoder output, then shortcut, then attributes.
            if i < self.shortcut_layers:
                z = torch.cat([z, zs[depth - 2 - i]], dim=1)
            if i < self.inject_layers:
                z = torch.cat([z, _tile(a, self.f_size * 2 ** (i + 1))], dim=1)
        return z

    def decode(self, zs: Sequence[Tensor], a: Tensor) -> Tensor:
        """Image in [-1, 1] from encoder features and mapped attributes (B, n_attrs)."""
        return self.dec_layers[-1](self.decode_features(zs, a))

    def forward(self, x: Tensor, a: Tensor) -> Tensor:
        return self.decode(self.encode(x), a)


class Discriminators(nn.Module):
    """The reference's discriminator: shared convs, an adversarial head and a classifier head.

    The reference hard-codes 1024 input features per cell and 13 classifier outputs; here both
    follow the configuration (identical for its defaults).
    """

    def __init__(
        self,
        dim: int = 64,
        norm: str = "instancenorm",
        acti: str = "lrelu",
        fc_dim: int = 1024,
        fc_norm: str = "none",
        fc_acti: str = "lrelu",
        n_layers: int = 5,
        img_size: int = 128,
        n_attrs: int = 13,
    ) -> None:
        super().__init__()
        _check_int("dis_layers", n_layers, 1)
        if img_size % 2**n_layers:
            raise ModelError(
                f"AttGAN img_size={img_size} is not divisible by 2^dis_layers={2**n_layers}; "
                "choose an image size that is a multiple of it"
            )
        blocks: list[nn.Module] = []
        n_in = 3
        for i in range(n_layers):
            width = min(dim * 2**i, MAX_DIM)
            blocks.append(Conv2dBlock(n_in, width, norm, acti))
            n_in = width
        self.conv = nn.Sequential(*blocks)
        n_feat = n_in * (img_size // 2**n_layers) ** 2
        self.fc_adv = nn.Sequential(
            LinearBlock(n_feat, fc_dim, fc_norm, fc_acti), LinearBlock(fc_dim, 1)
        )
        self.fc_cls = nn.Sequential(
            LinearBlock(n_feat, fc_dim, fc_norm, fc_acti), LinearBlock(fc_dim, n_attrs)
        )

    def forward(self, x: Tensor) -> tuple[Tensor, Tensor]:
        h = self.conv(x).flatten(1)
        return self.fc_adv(h), self.fc_cls(h)


def build_generator(settings: Mapping[str, object]) -> AttGANNet:
    """A raw `AttGANNet` from setting.txt-style names; unknown names are a ModelError."""
    unknown = sorted(set(settings) - set(GENERATOR_DEFAULTS))
    if unknown:
        raise ModelError(
            f"unknown AttGAN generator settings {', '.join(unknown)}; "
            f"use only {', '.join(GENERATOR_DEFAULTS)}"
        )
    return AttGANNet(**{**GENERATOR_DEFAULTS, **settings})


class AttGANGenerator(nn.Module, interface.Generator):
    """An `AttGANNet` behind the sia-audit Generator interface: [0, 1] pixels and attributes.

    Owns the raw network (`net`), the ordered attribute names and `thres_int`; maps images to
    [-1, 1] and attributes a to (2a - 1) * thres_int on the way in, and tanh output back to
    [0, 1]. Starts in eval mode.
    """

    def __init__(
        self,
        net: AttGANNet,
        attr_names: Sequence[str],
        thres_int: float = 0.5,
        provenance: Mapping[str, object] | None = None,
    ) -> None:
        super().__init__()
        names = tuple(attr_names)
        if len(names) != net.n_attrs:
            raise ModelError(
                f"AttGAN generator has {net.n_attrs} attribute inputs but {len(names)} attribute "
                "names were given; give one name per attribute, in the order it was trained with"
            )
        if len(set(names)) != len(names) or not all(isinstance(n, str) and n for n in names):
            raise ModelError(
                f"AttGAN attribute names {list(names)} are not distinct non-empty strings; "
                "fix the attribute list"
            )
        if (
            isinstance(thres_int, bool)
            or not isinstance(thres_int, int | float)
            or not (math.isfinite(thres_int) and thres_int > 0)
        ):
            raise ModelError(f"AttGAN thres_int={thres_int!r} is invalid; use a number > 0")
        self.net = net
        self.attr_names = names
        self.image_size = net.img_size
        self.thres_int = float(thres_int)
        # Where the weights came from (file, epoch, training script...): shown in reports.
        self.provenance: dict[str, object] = dict(provenance or {})
        self.eval()

    @classmethod
    def from_settings(
        cls, settings: Mapping[str, object], attr_names: Sequence[str], thres_int: float = 0.5
    ) -> AttGANGenerator:
        """A freshly initialised generator; `n_attrs` defaults to len(attr_names)."""
        settings = {"n_attrs": len(attr_names), **settings}
        return cls(build_generator(settings), attr_names, thres_int)

    @property
    def settings(self) -> dict[str, Any]:
        return self.net.settings

    def extra_repr(self) -> str:
        return (
            f"image_size={self.image_size}, attrs={len(self.attr_names)}, "
            f"thres_int={self.thres_int}"
        )

    def encode(self, x: Tensor) -> interface.Latent:
        s = self.image_size
        if x.dim() != 4 or tuple(x.shape[1:]) != (3, s, s):
            raise ModelError(
                f"generator expects images (B, 3, {s}, {s}) but got {tuple(x.shape)}; "
                f"resize the probes to {s} px or use a generator trained at their size"
            )
        return tuple(self.net.encode(x * 2 - 1))

    def decode(self, z: interface.Latent, a: Tensor) -> Tensor:
        k = len(self.attr_names)
        if a.dim() != 2 or a.shape[1] != k or a.shape[0] != z[-1].shape[0]:
            raise ModelError(
                f"generator expects attributes ({z[-1].shape[0]}, {k}) but got "
                f"{tuple(a.shape)}; pass one row of {k} values in [0, 1] per image"
            )
        y = self.net.decode(z, (a * 2 - 1) * self.thres_int)
        return (y + 1) / 2

    def forward(self, x: Tensor, a: Tensor) -> Tensor:
        return self.decode(self.encode(x), a)
