"""Reading and checking generator weights: torch.load restricted to plain data, and the check
of a state_dict against the architecture its settings imply. Shared by both file formats."""

from __future__ import annotations

import math
import pickle
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from sia_audit.errors import ModelError
from sia_audit.generators.attgan import AttGANGenerator, AttGANNet, build_generator


def one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else type(exc).__name__
    return first if len(first) <= 160 else first[:157] + "..."


def refusal_detail(exc: BaseException) -> str:
    # torch's message is a long multi-line how-to; the line naming the culprit is what matters.
    for line in str(exc).splitlines():
        if "Unsupported" in line:
            return one_line(ValueError(line.split(" was not an allowed global")[0].strip()))
    return "unsupported content"


def safe_load(path: Path) -> Any:
    """torch.load restricted to tensors and plain containers; every failure is a ModelError."""
    try:
        with warnings.catch_warnings():
            # torch warns about pickle protocols and the like; the user can do nothing about it.
            warnings.simplefilter("ignore")
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "weights only load failed" in str(exc).lower():
            raise ModelError(
                f"generator file {path} was refused by torch.load(weights_only=True) "
                f"({refusal_detail(exc)}); for safety only torch.save files of tensors and "
                "plain containers are loaded, re-save it that way"
            ) from None
        raise ModelError(
            f"generator file {path} is not a PyTorch checkpoint ({one_line(exc)}); "
            "pass a file written by torch.save"
        ) from None
    except OSError as exc:
        raise ModelError(f"cannot read generator file {path}: {exc.strerror}") from None
    # torch.load reports a damaged or foreign file through many exception types (KeyError,
    # EOFError, RuntimeError from the zip reader, ...): all mean the same to the user.
    except Exception as exc:
        raise ModelError(
            f"generator file {path} is not a readable PyTorch checkpoint ({one_line(exc)}); "
            "pass a file written by torch.save"
        ) from None


def build(
    source: Path,
    settings: object,
    attr_names: object,
    thres_int: object,
    state: Mapping[object, object],
    provenance: Mapping[str, object],
) -> AttGANGenerator:
    """Check `state` against the architecture `settings` imply, then assemble the generator."""
    if not isinstance(settings, Mapping):
        raise ModelError(f"generator checkpoint {source}: settings are not a mapping; re-save it")
    if not isinstance(attr_names, Sequence) or not all(isinstance(n, str) for n in attr_names):
        raise ModelError(
            f"generator checkpoint {source}: attribute names are not a list of strings; "
            "re-save it with its attribute list"
        )
    n_attrs = settings.get("n_attrs", len(attr_names))
    if n_attrs != len(attr_names):
        raise ModelError(
            f"generator checkpoint {source}: settings say n_attrs={n_attrs} but "
            f"{len(attr_names)} attribute names are stored; re-save it with a matching list"
        )
    # Built on the meta device: no memory or init time is spent on weights about to be replaced.
    try:
        with torch.device("meta"):
            net = build_generator(settings)
    except ModelError as exc:
        raise ModelError(f"generator checkpoint {source}: {exc}") from None
    _check_state(source, net, state, len(attr_names))
    # _check_state has made sure every key is an expected name holding a tensor.
    tensors: dict[str, Tensor] = {
        k: (v.float() if v.is_floating_point() else v)
        for k, v in state.items()
        if isinstance(k, str) and isinstance(v, Tensor)
    }
    for key, ref in net.state_dict().items():
        if key not in tensors and key.endswith("num_batches_tracked"):
            # Checkpoints from PyTorch 0.4.0 predate this counter; it only matters for training.
            tensors[key] = torch.zeros((), dtype=ref.dtype)
    net.load_state_dict(tensors, strict=True, assign=True)
    generator = AttGANGenerator(net, list(attr_names), _thres(source, thres_int), provenance)
    generator.requires_grad_(False)
    return generator.eval()


def _thres(source: Path, value: object) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not (math.isfinite(value) and value > 0)
    ):
        raise ModelError(f"generator checkpoint {source}: thres_int={value!r} is not a number > 0")
    return float(value)


def _check_state(
    source: Path, net: AttGANNet, state: Mapping[object, object], n_names: int
) -> None:
    expected = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    problems: list[str] = []
    # The first decoder weight takes [deepest encoder feature, attributes] as input channels;
    # with the weights' own encoder width it tells how many attributes they were trained with.
    probe_key = "dec_layers.0.layers.0.weight"
    got = state.get(probe_key)
    deepest = state.get(f"enc_layers.{len(net.enc_layers) - 1}.layers.0.weight")
    if isinstance(got, Tensor) and isinstance(deepest, Tensor) and got.dim() == 4:
        trained = got.shape[0] - deepest.shape[0]
        if trained != n_names:
            problems.append(
                f"{probe_key} has shape {list(got.shape)} but settings imply "
                f"{list(expected[probe_key])} (weights for {trained} attributes, {n_names} "
                "attribute names given)"
            )
    for key, shape in expected.items():
        value = state.get(key)
        if key == probe_key and problems:
            continue
        if value is None:
            if not key.endswith("num_batches_tracked"):
                problems.append(f"{key} is missing")
        elif not isinstance(value, Tensor):
            problems.append(f"{key} is a {type(value).__name__}, not a tensor")
        elif tuple(value.shape) != shape:
            problems.append(f"{key} has shape {list(value.shape)} but settings imply {list(shape)}")
    unexpected = [str(k) for k in state if k not in expected]
    if unexpected:
        shown = ", ".join(unexpected[:3]) + (", ..." if len(unexpected) > 3 else "")
        problems.append(f"{len(unexpected)} unexpected keys ({shown})")
    if problems:
        more = f" (and {len(problems) - 3} more problems)" if len(problems) > 3 else ""
        raise ModelError(
            f"generator checkpoint {source}: {'; '.join(problems[:3])}{more}; "
            "the settings (layers, dims, norms, img_size, attribute list) do not describe "
            "these weights, use the settings they were trained with"
        )


def state_for_saving(generator: AttGANGenerator) -> dict[str, Tensor]:
    # Clone so each saved tensor owns its storage (a view would save its whole base tensor).
    return {k: v.detach().cpu().clone() for k, v in generator.net.state_dict().items()}
