"""Attribute classifiers that judge a generator's edits (editability).

Three sources, tried in this order:
- a TorchScript classifier named in the policy (`generator.attribute_classifier`), carrying its
  attribute names in a `sia_classifier.json` extra file;
- for the embedded default generator, the shipped synthfaces classifier (the same format);
- the discriminator's attribute head (`fc_cls`) of an AttGAN-PyTorch experiment folder whose
  weights file carries `D`.
Every classifier is checked when it loads, before any attack: its output count must equal the
number of names it carries, and those names must cover the generator's attributes.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Callable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sia_audit.errors import ModelError
from sia_audit.generators.attgan import Discriminators
from sia_audit.generators.interface import Generator
from sia_audit.generators.reference import (
    REFERENCE_TRAIN_DEFAULTS,
    SETTING_FILE,
    read_settings,
    strip_prefix,
    weights_files,
)
from sia_audit.generators.weights import safe_load
from sia_audit.limits import MAX_INPUT_SIDE, input_size_problem
from sia_audit.sources import SYNTHFACES

CLASSIFIER_FILE = "sia_classifier.json"
SHIPPED_CLASSIFIER = "synthfaces_attributes64.pt"


class AttributeClassifier(nn.Module):
    """Probabilities (B, K) of the generator's attributes, in its order, from images in [0, 1].

    Wraps a model that outputs one logit per attribute it names; `columns` picks and orders
    those the generator has. Inputs are resized to the model's size and normalised as it expects.
    """

    columns: Tensor  # buffers, registered in __init__
    mean: Tensor
    std: Tensor

    def __init__(
        self,
        model: nn.Module,
        columns: Sequence[int],
        description: str,
        *,
        input_size: tuple[int, int] | None = None,
        mean: Sequence[float] = (0.0, 0.0, 0.0),
        std: Sequence[float] = (1.0, 1.0, 1.0),
    ) -> None:
        super().__init__()
        self.model = model
        self.description = description
        self.input_size = input_size
        self.register_buffer("columns", torch.tensor(list(columns), dtype=torch.long))
        self.register_buffer("mean", torch.tensor(list(mean), dtype=torch.float32).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(list(std), dtype=torch.float32).view(1, 3, 1, 1))
        self.eval()

    def logits(self, x: Tensor) -> Tensor:
        if self.input_size is not None and tuple(x.shape[-2:]) != self.input_size:
            x = F.interpolate(x, size=self.input_size, mode="bilinear", align_corners=False)
        return self.model((x - self.mean) / self.std)

    def forward(self, x: Tensor) -> Tensor:
        return torch.sigmoid(self.logits(x).float()[:, self.columns])


def _columns(source: str, names: Sequence[str], wanted: Sequence[str]) -> list[int]:
    missing = [n for n in wanted if n not in names]
    if missing:
        raise ModelError(
            f"attribute classifier {source} does not name the generator's attributes {missing} "
            f"(it names {list(names)}); use a classifier trained on the generator's attributes"
        )
    return [list(names).index(n) for n in wanted]


def _check_outputs(
    logits: Callable[[Tensor], Tensor], source: str, size: tuple[int, int], n_names: int
) -> None:
    """One forward pass on two images: (2, n_names) finite logits, or one line saying why not."""
    x = torch.rand(2, 3, *size, generator=torch.Generator().manual_seed(0))
    try:
        with torch.no_grad():
            out = logits(x)
    except Exception as exc:  # a user's model fails in its own ways; one line is enough
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        raise ModelError(
            f"attribute classifier {source} fails on a (2, 3, {size[0]}, {size[1]}) input "
            f"({first}); check its input_size in {CLASSIFIER_FILE}"
        ) from None
    if not isinstance(out, Tensor) or out.dim() != 2 or out.shape[1] != n_names:
        shape = tuple(out.shape) if isinstance(out, Tensor) else type(out).__name__
        raise ModelError(
            f"attribute classifier {source} outputs {shape} but names {n_names} attributes; "
            f"it must output one logit per attribute named in {CLASSIFIER_FILE}, (B, {n_names})"
        )
    if not bool(torch.isfinite(out).all()):
        raise ModelError(f"attribute classifier {source} outputs non-finite values")
    with torch.no_grad():
        alone = logits(x[:1])
    if not torch.allclose(alone, out[:1], atol=1e-4, rtol=1e-3):
        # A BatchNorm left in training mode (or traced in it) normalises by the batch: the
        # same image would be judged differently in another batch.
        raise ModelError(
            f"attribute classifier {source} judges an image differently in another batch "
            "(BatchNorm in training mode?); save it in eval mode"
        )


def _meta(source: str, text: str) -> dict[str, Any]:
    if not text:
        raise ModelError(
            f"attribute classifier {source} carries no {CLASSIFIER_FILE}; save it with "
            f'torch.jit.save(m, path, _extra_files={{"{CLASSIFIER_FILE}": json}}) naming its '
            "attributes in output order"
        )
    try:
        meta = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ModelError(f"attribute classifier {source}: {CLASSIFIER_FILE} is not JSON") from exc
    names = meta.get("attributes") if isinstance(meta, dict) else None
    if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
        raise ModelError(
            f"attribute classifier {source}: {CLASSIFIER_FILE} needs an 'attributes' list of "
            "names, one per output logit"
        )
    if len(set(names)) != len(names):
        raise ModelError(f"attribute classifier {source} names an attribute twice: {names}")
    return meta


def load_torchscript_classifier(
    path: Path, generator: Generator, description: str | None = None
) -> AttributeClassifier:
    """A TorchScript classifier with its names in `sia_classifier.json`, checked."""
    source = str(path)
    if not path.is_file():
        raise ModelError(f"attribute classifier {source}: file not found; check the path")
    extra = {CLASSIFIER_FILE: ""}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # torch.jit's deprecation notice concerns authors
            model = torch.jit.load(str(path), map_location="cpu", _extra_files=extra)
    except Exception as exc:
        raise ModelError(
            f"attribute classifier {source} is not a TorchScript archive; save it with "
            "torch.jit.save"
        ) from exc
    text = extra[CLASSIFIER_FILE]
    meta = _meta(source, text.decode() if isinstance(text, bytes) else text)
    size = meta.get("input_size") or [generator.image_size, generator.image_size]
    try:
        input_size = (int(size[0]), int(size[1]))
        mean = tuple(float(v) for v in meta.get("mean", (0.0, 0.0, 0.0)))
        std = tuple(float(v) for v in meta.get("std", (1.0, 1.0, 1.0)))
        if len(mean) != 3 or len(std) != 3 or min(std) <= 0 or min(input_size) < 1:
            raise ValueError
    except (TypeError, ValueError, IndexError, OverflowError):
        raise ModelError(
            f"attribute classifier {source}: {CLASSIFIER_FILE} has a bad input_size, mean or "
            "std; give [h, w] and three numbers each (std > 0)"
        ) from None
    too_large = input_size_problem(input_size)
    if too_large is not None:
        raise ModelError(
            f"attribute classifier {source}: {CLASSIFIER_FILE} input_size {list(input_size)} "
            f"has {too_large}; give the size it takes, at most {MAX_INPUT_SIDE} a side"
        )
    names = meta["attributes"]
    classifier = AttributeClassifier(
        model.eval(),
        _columns(source, names, generator.attr_names),
        description or f"TorchScript classifier {source}",
        input_size=input_size,
        mean=mean,
        std=std,
    )
    _check_outputs(classifier.logits, source, input_size, len(names))
    return classifier


class _AttributeHead(nn.Module):
    """The discriminator's classification head alone: logits of its attributes."""

    def __init__(self, disc: Discriminators) -> None:
        super().__init__()
        self.disc = disc

    def forward(self, x: Tensor) -> Tensor:
        return self.disc.fc_cls(self.disc.conv(x).flatten(1))


def discriminator_classifier(folder: Path, generator: Generator) -> AttributeClassifier | None:
    """The `fc_cls` head of the epoch the generator came from, or None when it has no `D`."""
    epoch = generator.provenance.get("epoch") if hasattr(generator, "provenance") else None
    path = weights_files(folder).get(epoch) if isinstance(epoch, int) else None
    if path is None:
        return None
    obj = safe_load(path)
    state = obj.get("D") if isinstance(obj, dict) else None
    if not isinstance(state, dict):
        return None
    args = {**REFERENCE_TRAIN_DEFAULTS, **read_settings(folder / SETTING_FILE)}
    names = list(generator.attr_names)
    try:
        disc = Discriminators(
            dim=args["dis_dim"],
            norm=args["dis_norm"],
            acti=args["dis_acti"],
            fc_dim=args["dis_fc_dim"],
            fc_norm=args["dis_fc_norm"],
            fc_acti=args["dis_fc_acti"],
            n_layers=args["dis_layers"],
            img_size=args["img_size"],
            n_attrs=len(names),
        )
        disc.load_state_dict({strip_prefix(k): v for k, v in state.items()})
    except (RuntimeError, TypeError, ValueError, KeyError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        raise ModelError(
            f"the discriminator in {path} does not match {folder / SETTING_FILE} ({first}); "
            "name a TorchScript classifier in generator.attribute_classifier instead"
        ) from None
    # The reference feeds D images in [-1, 1]: mean 0.5 and std 0.5 map [0, 1] there.
    classifier = AttributeClassifier(
        _AttributeHead(disc.eval().requires_grad_(False)),
        range(len(names)),
        f"the discriminator's attribute head (fc_cls) in {path}",
        mean=(0.5, 0.5, 0.5),
        std=(0.5, 0.5, 0.5),
    )
    size = generator.image_size
    _check_outputs(classifier.logits, f"{path} (D)", (size, size), len(names))
    return classifier


def shipped_classifier_path() -> Path:
    return Path(str(resources.files("sia_audit") / "assets" / SHIPPED_CLASSIFIER))


def resolve_classifier(
    named: str | None, generator_source: str, generator_path: Path, generator: Generator
) -> AttributeClassifier | None:
    """The classifier that judges this generator's edits, or None when there is none."""
    if named is not None:
        return load_torchscript_classifier(Path(named), generator)
    if generator_source == SYNTHFACES:  # the shipped classifier judges the shipped generator
        return load_torchscript_classifier(
            shipped_classifier_path(),
            generator,
            f"the shipped synthfaces attribute classifier ({SHIPPED_CLASSIFIER})",
        )
    if generator_path.is_dir():
        return discriminator_classifier(generator_path, generator)
    return None
