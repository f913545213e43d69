"""Shared pieces of the trainers: architecture config, progress, resumable training state."""

from __future__ import annotations

import dataclasses
import io
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, autograd

from sia_audit.errors import ModelError, UsageError
from sia_audit.fsutil import atomic_write_bytes
from sia_audit.generators.attgan import AttGANGenerator, Discriminators

STATE_FORMAT = "sia-audit-train-state"
STATE_VERSION = 1
STATE_SUFFIX = ".state.pt"

# Called after every step with (step done, steps in total, named scalar losses).
TrainProgress = Callable[[int, int, Mapping[str, float]], None]  # (step, steps, losses)


@dataclass(frozen=True)
class ArchConfig:
    """The AttGAN generator architecture (setting.txt names); encoder and decoder share depth."""

    img_size: int = 64
    enc_dim: int = 32
    dec_dim: int = 32
    layers: int = 4
    shortcut_layers: int = 1
    inject_layers: int = 1
    norm: str = "batchnorm"

    def settings(self, n_attrs: int) -> dict[str, Any]:
        return {
            "enc_dim": self.enc_dim,
            "enc_layers": self.layers,
            "enc_norm": self.norm,
            "enc_acti": "lrelu",
            "dec_dim": self.dec_dim,
            "dec_layers": self.layers,
            "dec_norm": self.norm,
            "dec_acti": "relu",
            "n_attrs": n_attrs,
            "shortcut_layers": self.shortcut_layers,
            "inject_layers": self.inject_layers,
            "img_size": self.img_size,
        }

    def build(self, attr_names: Sequence[str], thres_int: float = 0.5) -> AttGANGenerator:
        return AttGANGenerator.from_settings(self.settings(len(attr_names)), attr_names, thres_int)


@dataclass(frozen=True)
class TrainResult:
    """What a training run returns: the generator (eval mode) and how it got there."""

    generator: AttGANGenerator
    steps_done: int
    finished: bool
    last_losses: dict[str, float]
    provenance: dict[str, str | int | float | bool | None]


def end_of_run(
    generator: AttGANGenerator,
    step: int,
    start: int,
    total: int,
    losses: dict[str, float],
    checkpoint: Callable[[int], None],
    provenance: dict[str, str | int | float | bool | None],
) -> TrainResult:
    """Both trainers' last act: save the last step unless nothing ran, freeze, report."""
    if step != start:
        checkpoint(step)
    generator.eval().requires_grad_(False)
    return TrainResult(
        generator=generator,
        steps_done=step,
        finished=step >= total,
        last_losses=losses,
        provenance=provenance,
    )


def state_path_for(checkpoint: str | Path) -> Path:
    """The training-state file kept next to a final checkpoint path."""
    checkpoint = Path(checkpoint)
    return checkpoint.with_name(checkpoint.name + STATE_SUFFIX)


def config_record(config: object) -> dict[str, Any]:
    """A config dataclass as plain nested dicts/lists, storable under weights_only loading."""

    def plain(v: object) -> object:
        if isinstance(v, tuple | list):
            return [plain(x) for x in v]
        if isinstance(v, dict):
            return {str(k): plain(x) for k, x in v.items()}
        return v

    assert dataclasses.is_dataclass(config) and not isinstance(config, type)
    return {k: plain(v) for k, v in dataclasses.asdict(config).items()}


def lr_at(step: int, total: int, base: float, final_frac: float, warmup: int) -> float:
    """Linear warm-up, then cosine decay from `base` to `base * final_frac` at `total`."""
    if warmup > 0 and step < warmup:
        return base * (step + 1) / warmup
    span = max(total - warmup, 1)
    t = min(max(step - warmup, 0) / span, 1.0)
    return base * (final_frac + (1 - final_frac) * 0.5 * (1 + math.cos(math.pi * t)))


def set_lr(optimizer: torch.optim.Optimizer, lr: float) -> None:
    for group in optimizer.param_groups:
        group["lr"] = lr


def save_state(path: Path, payload: dict[str, Any]) -> None:
    """Write a training-state file atomically (tensors and plain containers only)."""
    buf = io.BytesIO()
    torch.save({"format": STATE_FORMAT, "format_version": STATE_VERSION, **payload}, buf)
    atomic_write_bytes(path, buf.getvalue())


def load_state(path: Path, mode: str, config: Mapping[str, Any]) -> dict[str, Any]:
    """Read a training-state file and refuse it unless it was written by the same config."""
    if not path.is_file():
        raise UsageError(
            f"cannot resume: no training state {path}; run without --resume to start afresh"
        )
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch reports a damaged file through many exception types
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0][:160]
        raise ModelError(
            f"training state {path} is not readable ({first}); delete it and start afresh"
        ) from None
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        raise ModelError(
            f"{path} is not a sia-audit training state; delete it or pick another --out"
        )
    if state.get("mode") != mode:
        raise UsageError(
            f"cannot resume: {path} holds a {state.get('mode')} run, this is a {mode} run; "
            "use the same mode or start afresh without --resume"
        )
    old = state.get("config", {})
    differ = sorted(k for k in set(old) | set(config) if old.get(k) != config.get(k))
    if differ:
        shown = ", ".join(f"{k} {old.get(k)!r} -> {config.get(k)!r}" for k in differ[:4])
        raise UsageError(
            f"cannot resume: the training config differs from the saved state ({shown}); "
            "use the original options or start afresh without --resume"
        )
    return state


def rng_state(generator: torch.Generator) -> torch.Tensor:
    return generator.get_state().clone()


def gradient_penalty(d: Discriminators, real: Tensor, fake: Tensor, gen: torch.Generator) -> Tensor:
    """WGAN-GP: (||grad D(x_hat)|| - 1)^2 on random interpolates of real and fake."""
    alpha = torch.rand((real.shape[0], 1, 1, 1), generator=gen)
    x = (real + alpha * (fake - real)).requires_grad_(True)
    pred = d(x)[0]
    (grad,) = autograd.grad(pred, x, torch.ones_like(pred), create_graph=True)
    return ((grad.flatten(1).norm(2, dim=1) - 1.0) ** 2).mean()
