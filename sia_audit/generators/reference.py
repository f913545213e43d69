"""AttGAN-PyTorch experiment folders: setting.txt and checkpoint/weights.N.pth, read and written
as elvisyjlin/AttGAN-PyTorch does (DataParallel 'module.' prefixes included)."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, overload

import torch

from sia_audit.errors import ModelError, OutputError
from sia_audit.fsutil import atomic_write_bytes, atomic_write_text
from sia_audit.generators.attgan import GENERATOR_DEFAULTS, AttGANGenerator
from sia_audit.generators.weights import build, one_line, safe_load, state_for_saving

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
    args = read_settings(setting_path)
    epochs = weights_files(folder)
    if not epochs:
        raise ModelError(
            f"generator folder {folder} has no {WEIGHTS_DIR}/weights.N.pth; "
            "copy the trained weights into it"
        )
    epoch = pick_epoch(folder, epochs, which)
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
    # One missing (an older train.py) takes the reference default; build checks the shapes.
    settings = {k: args[k] for k in GENERATOR_DEFAULTS if k in args}
    settings["n_attrs"] = len(attrs)

    obj = safe_load(weights_path)
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
    state = {strip_prefix(k): v for k, v in state.items()}
    provenance = {
        "format": "AttGAN-PyTorch",
        "folder": str(folder),
        "weights": weights_path.name,
        "epoch": epoch,
    }
    thres_int = args.get("thres_int", 0.5)
    return build(weights_path, settings, attrs, thres_int, state, provenance)


@overload
def strip_prefix(key: str) -> str: ...
@overload
def strip_prefix(key: object) -> object: ...
def strip_prefix(key: object) -> object:
    """A state_dict key without nn.DataParallel's prefix; a key that is no str is kept as is."""
    return key.removeprefix(_DP_PREFIX) if isinstance(key, str) else key


def pick_epoch(folder: Path, epochs: Mapping[int, Path], which: int | str) -> int:
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


def read_settings(path: Path) -> dict[str, Any]:
    try:
        args = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(
            f"cannot read {path} as JSON ({one_line(exc)}); expected AttGAN-PyTorch's setting.txt"
        ) from None
    if not isinstance(args, dict):
        raise ModelError(f"{path} is not a JSON object; expected AttGAN-PyTorch's setting.txt")
    return args


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
        old = read_settings(setting_path)
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
    state = {prefix + k: v for k, v in state_for_saving(generator).items()}
    buf = io.BytesIO()
    torch.save({"G": state}, buf)
    weights_path = folder / WEIGHTS_DIR / f"weights.{int(epoch)}.pth"
    atomic_write_bytes(weights_path, buf.getvalue())
    return weights_path
