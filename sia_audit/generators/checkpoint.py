"""Load and save AttGAN generators: AttGAN-PyTorch experiment folders and our one-file format."""

from __future__ import annotations

import io
import json
import math
import pickle
import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from torch import Tensor

from sia_audit.errors import DataError, ModelError, OutputError
from sia_audit.fsutil import atomic_write_bytes, atomic_write_text
from sia_audit.generators.attgan import (
    GENERATOR_DEFAULTS,
    AttGANGenerator,
    Generator,
    build_generator,
)

FORMAT = "sia-audit-generator"
FORMAT_VERSION = 1

SETTING_FILE = "setting.txt"
WEIGHTS_DIR = "checkpoint"
_WEIGHTS_RE = re.compile(r"weights\.(\d+)\.pth")
_DP_PREFIX = "module."

# Every argument of the reference's train.py with its default, so a folder we write can be read
# by its test scripts as well as by ours (they rebuild the whole AttGAN, discriminator included).
REFERENCE_TRAIN_DEFAULTS: dict[str, Any] = {
    "data": "CelebA",
    "data_path": "data/img_align_celeba",
    "attr_path": "data/list_attr_celeba.txt",
    "image_list_path": "data/image_list.txt",
    **GENERATOR_DEFAULTS,
    "dis_dim": 64,
    "dis_fc_dim": 1024,
    "dis_layers": 5,
    "dis_norm": "instancenorm",
    "dis_fc_norm": "none",
    "dis_acti": "lrelu",
    "dis_fc_acti": "relu",
    "lambda_1": 100.0,
    "lambda_2": 10.0,
    "lambda_3": 1.0,
    "lambda_gp": 10.0,
    "mode": "wgan",
    "epochs": 200,
    "batch_size": 32,
    "num_workers": 0,
    "lr": 0.0002,
    "beta1": 0.5,
    "beta2": 0.999,
    "n_d": 5,
    "b_distribution": "none",
    "thres_int": 0.5,
    "test_int": 1.0,
    "n_samples": 16,
    "save_interval": 1000,
    "sample_interval": 1000,
    "gpu": False,
    "multi_gpu": False,
}

_PROVENANCE_TYPES = (str, int, float, bool, type(None))


# ---------------------------------------------------------------------------------------------
# Loading


def load_generator(source: str | Path, *, which: int | str = "latest") -> AttGANGenerator:
    """A generator from a reference experiment folder or from one of our checkpoint files.

    `which` picks the epoch of a folder ('latest' or N for checkpoint/weights.N.pth). The result
    is in eval mode with its parameters frozen (the attack differentiates through inputs only);
    call `.train().requires_grad_(True)` to fine-tune it.
    """
    path = Path(source)
    if path.is_dir():
        return load_reference_folder(path, which)
    if path.is_file():
        return load_checkpoint(path)
    raise ModelError(
        f"generator {path} does not exist; expected an AttGAN-PyTorch experiment folder "
        f"({SETTING_FILE} + {WEIGHTS_DIR}/weights.N.pth) or a sia-audit generator file"
    )


def load_checkpoint(path: str | Path) -> AttGANGenerator:
    """Our one-file checkpoint (see `save_checkpoint`)."""
    path = Path(path)
    obj = _safe_load(path)
    if not isinstance(obj, dict) or obj.get("format") != FORMAT:
        hint = "run `sia-audit train-generator` or `save_checkpoint` to make one"
        if isinstance(obj, dict) and "G" in obj:
            hint = (
                "it looks like AttGAN-PyTorch weights: pass its experiment folder "
                f"(with {SETTING_FILE})"
            )
        raise ModelError(f"generator file {path} is not a {FORMAT} checkpoint; {hint}")
    version = obj.get("format_version")
    if version != FORMAT_VERSION:
        raise ModelError(
            f"generator file {path} has format_version {version!r} but this sia-audit reads "
            f"version {FORMAT_VERSION}; use the sia-audit release that wrote it or re-save it"
        )
    for key, kind in (("settings", dict), ("attr_names", list), ("state_dict", dict)):
        if not isinstance(obj.get(key), kind):
            raise ModelError(
                f"generator file {path}: '{key}' is missing or not a {kind.__name__}; "
                "the file is damaged, re-save it"
            )
    provenance = obj.get("provenance") or {}
    if not isinstance(provenance, dict):
        raise ModelError(f"generator file {path}: 'provenance' is not a dict; re-save it")
    provenance = {**provenance, "file": str(path)}
    return _build(
        path,
        obj["settings"],
        obj["attr_names"],
        obj.get("thres_int", 0.5),
        obj["state_dict"],
        provenance,
    )


def weights_files(folder: str | Path) -> dict[int, Path]:
    """The epochs found in a reference folder's checkpoint/ (weights.N.pth), by N."""
    found: dict[int, Path] = {}
    wdir = Path(folder) / WEIGHTS_DIR
    if wdir.is_dir():
        for p in wdir.iterdir():
            m = _WEIGHTS_RE.fullmatch(p.name)
            if m and p.is_file():
                found[int(m.group(1))] = p
    return found


def load_reference_folder(folder: str | Path, which: int | str = "latest") -> AttGANGenerator:
    """An AttGAN-PyTorch experiment folder: setting.txt and checkpoint/weights.N.pth."""
    folder = Path(folder)
    setting_path = folder / SETTING_FILE
    if not setting_path.is_file():
        raise ModelError(
            f"generator folder {folder} has no {SETTING_FILE}; expected an AttGAN-PyTorch "
            f"experiment folder ({SETTING_FILE} + {WEIGHTS_DIR}/weights.N.pth)"
        )
    args = _read_settings(setting_path)
    epochs = weights_files(folder)
    if not epochs:
        raise ModelError(
            f"generator folder {folder} has no {WEIGHTS_DIR}/weights.N.pth; "
            "copy the trained weights into it"
        )
    epoch = _pick_epoch(folder, epochs, which)
    weights_path = epochs[epoch]

    attrs = args.get("attrs")
    if not isinstance(attrs, list) or not attrs:
        raise ModelError(
            f"{setting_path} has no 'attrs' list; add the attribute names the model was "
            "trained with, in order"
        )
    n_attrs = args.get("n_attrs", len(attrs))
    if n_attrs != len(attrs):
        raise ModelError(
            f"{setting_path} says n_attrs={n_attrs} but lists {len(attrs)} attrs; "
            "make the attribute list match the trained model"
        )
    # setting.txt is the whole argparse namespace; only the generator's arguments matter here.
    # One missing (an older train.py) takes the reference default; _build checks the shapes.
    settings = {k: args[k] for k in GENERATOR_DEFAULTS if k in args}
    settings["n_attrs"] = len(attrs)

    obj = _safe_load(weights_path)
    state = obj.get("G") if isinstance(obj, dict) else None
    if (
        state is None
        and isinstance(obj, dict)
        and any(
            isinstance(k, str) and k.removeprefix(_DP_PREFIX).startswith("enc_layers.") for k in obj
        )
    ):
        state = obj  # a bare G.state_dict() saved by hand
    if not isinstance(state, dict):
        raise ModelError(
            f"generator weights {weights_path} hold no 'G' state_dict; expected AttGAN-PyTorch's "
            "save()/saveG() output"
        )
    # nn.DataParallel (the reference's --multi_gpu) prefixes every key with 'module.'.
    state = {_strip_prefix(k): v for k, v in state.items()}
    provenance = {
        "format": "AttGAN-PyTorch",
        "folder": str(folder),
        "weights": weights_path.name,
        "epoch": epoch,
    }
    thres_int = args.get("thres_int", 0.5)
    return _build(weights_path, settings, attrs, thres_int, state, provenance)


def _strip_prefix(key: object) -> object:
    return key.removeprefix(_DP_PREFIX) if isinstance(key, str) else key


def _pick_epoch(folder: Path, epochs: Mapping[int, Path], which: int | str) -> int:
    if which == "latest":
        return max(epochs)  # numeric: weights.10 is newer than weights.3
    if isinstance(which, str) and which.isdigit():
        which = int(which)
    if isinstance(which, bool) or not isinstance(which, int):
        raise ModelError(f"generator epoch {which!r} is invalid; use 'latest' or an integer")
    if which not in epochs:
        have = ", ".join(str(e) for e in sorted(epochs))
        raise ModelError(
            f"generator folder {folder} has no {WEIGHTS_DIR}/weights.{which}.pth; "
            f"available epochs: {have}"
        )
    return which


def _read_settings(path: Path) -> dict[str, Any]:
    try:
        args = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(
            f"cannot read {path} as JSON ({_one_line(exc)}); expected AttGAN-PyTorch's setting.txt"
        ) from None
    if not isinstance(args, dict):
        raise ModelError(f"{path} is not a JSON object; expected AttGAN-PyTorch's setting.txt")
    return args


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else type(exc).__name__
    return first if len(first) <= 160 else first[:157] + "..."


def _refusal_detail(exc: BaseException) -> str:
    # torch's message is a long multi-line how-to; the line naming the culprit is what matters.
    for line in str(exc).splitlines():
        if "Unsupported" in line:
            return _one_line(ValueError(line.split(" was not an allowed global")[0].strip()))
    return "unsupported content"


def _safe_load(path: Path) -> Any:
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
                f"({_refusal_detail(exc)}); for safety only torch.save files of tensors and "
                "plain containers are loaded, re-save it that way"
            ) from None
        raise ModelError(
            f"generator file {path} is not a PyTorch checkpoint ({_one_line(exc)}); "
            "pass a file written by torch.save"
        ) from None
    except OSError as exc:
        raise ModelError(f"cannot read generator file {path}: {exc.strerror}") from None
    # torch.load reports a damaged or foreign file through many exception types (KeyError,
    # EOFError, RuntimeError from the zip reader, ...): all mean the same to the user.
    except Exception as exc:
        raise ModelError(
            f"generator file {path} is not a readable PyTorch checkpoint ({_one_line(exc)}); "
            "pass a file written by torch.save"
        ) from None


def _build(
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
    source: Path, net: Generator, state: Mapping[object, object], n_names: int
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


# ---------------------------------------------------------------------------------------------
# Saving


def _state_for_saving(generator: AttGANGenerator) -> dict[str, Tensor]:
    # Clone so each saved tensor owns its storage (a view would save its whole base tensor).
    return {k: v.detach().cpu().clone() for k, v in generator.net.state_dict().items()}


def save_checkpoint(
    path: str | Path, generator: AttGANGenerator, provenance: Mapping[str, object]
) -> None:
    """Write our one-file checkpoint atomically; loadable with torch.load(weights_only=True).

    `provenance` is a flat dict of str/int/float/bool/None (script, seed, steps, created, ...).
    """
    bad = [
        k
        for k, v in provenance.items()
        if not isinstance(k, str) or not isinstance(v, _PROVENANCE_TYPES)
    ]
    if bad:
        raise ValueError(f"provenance values must be str/int/float/bool/None; fix {bad}")
    payload = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "settings": generator.settings,
        "attr_names": list(generator.attr_names),
        "thres_int": generator.thres_int,
        "state_dict": _state_for_saving(generator),
        "provenance": dict(provenance),
    }
    buf = io.BytesIO()
    torch.save(payload, buf)
    atomic_write_bytes(Path(path), buf.getvalue())


def save_reference_folder(
    folder: str | Path,
    generator: AttGANGenerator,
    epoch: int,
    *,
    dataparallel_prefix: bool = False,
) -> Path:
    """Write setting.txt and checkpoint/weights.{epoch}.pth as AttGAN-PyTorch would; return the
    weights path. A folder already holding a different model is refused."""
    folder = Path(folder)
    args = {
        **REFERENCE_TRAIN_DEFAULTS,
        **generator.settings,
        "attrs": list(generator.attr_names),
        "n_attrs": len(generator.attr_names),
        "thres_int": generator.thres_int,
        "experiment_name": folder.name,
        "lr_base": REFERENCE_TRAIN_DEFAULTS["lr"],
        "betas": [REFERENCE_TRAIN_DEFAULTS["beta1"], REFERENCE_TRAIN_DEFAULTS["beta2"]],
    }
    setting_path = folder / SETTING_FILE
    if setting_path.exists():
        old = _read_settings(setting_path)
        keys = [*GENERATOR_DEFAULTS, "attrs", "thres_int"]
        differ = [k for k in keys if old.get(k) != args[k]]
        if differ:
            raise OutputError(
                f"{folder} already holds a model with different {', '.join(differ)}; "
                "choose a new folder"
            )
    else:
        # The same separators as the reference's train.py, so the files read alike.
        atomic_write_text(setting_path, json.dumps(args, indent=4, separators=(",", ":")))
    prefix = _DP_PREFIX if dataparallel_prefix else ""
    state = {prefix + k: v for k, v in _state_for_saving(generator).items()}
    buf = io.BytesIO()
    torch.save({"G": state}, buf)
    weights_path = folder / WEIGHTS_DIR / f"weights.{int(epoch)}.pth"
    atomic_write_bytes(weights_path, buf.getvalue())
    return weights_path


# ---------------------------------------------------------------------------------------------
# Attribute lists


def check_attributes(generator_attr_names: Sequence[str], probe_attr_names: Sequence[str]) -> None:
    """Require the probe set's attributes to be exactly the generator's, in the same order."""
    gen, probe = list(generator_attr_names), list(probe_attr_names)
    if gen == probe:
        return
    missing = [n for n in gen if n not in probe]
    extra = [n for n in probe if n not in gen]
    parts = []
    if missing:
        parts.append(f"missing {', '.join(missing)}")
    if extra:
        parts.append(f"not known to the generator: {', '.join(extra)}")
    if not parts:
        dupes = sorted({n for n in [*gen, *probe] if gen.count(n) > 1 or probe.count(n) > 1})
        if dupes:
            parts.append(f"repeated {', '.join(dupes)}")
        else:
            i = next(i for i, (g, p) in enumerate(zip(gen, probe, strict=True)) if g != p)
            parts.append(
                f"misordered from position {i} ({probe[i]} where the generator has {gen[i]})"
            )
    raise DataError(
        f"probe attributes do not match the generator's ({'; '.join(parts)}); select the "
        f"generator's attributes in its order: {', '.join(gen)}"
    )
