"""Unpaired AttGAN training on a CelebA-format folder: the reference WGAN-GP objective."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
import torch.nn.functional as F  # noqa: N812 - the usual torch alias
from torch import Tensor

import sia_audit
from sia_audit.errors import UsageError
from sia_audit.generators.attgan import Discriminators
from sia_audit.generators.training.state import (
    ArchConfig,
    TrainProgress,
    TrainResult,
    config_record,
    end_of_run,
    gradient_penalty,
    load_state,
    rng_state,
    save_state,
)
from sia_audit.probes.celeba import CelebAProbes, Preprocess

MODE = "unpaired"
B_DISTRIBUTIONS = ("none", "uniform", "truncated_normal")


@dataclass(frozen=True)
class UnpairedConfig:
    """The reference's train.py defaults; `steps` counts generator updates (each after n_d D ones).

    `data` and `attr_names` are part of the config so that a resumed run reads the same data.
    """

    data: str
    attr_names: tuple[str, ...]
    steps: int = 1000
    batch_size: int = 32
    seed: int = 0
    lr: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    n_d: int = 5
    lambda_1: float = 100.0  # reconstruction
    lambda_2: float = 10.0  # generator attribute classification
    lambda_3: float = 1.0  # discriminator attribute classification
    lambda_gp: float = 10.0
    thres_int: float = 0.5
    b_distribution: str = "none"
    center_crop: int | None = 170
    dis_dim: int = 64
    dis_fc_dim: int = 1024
    dis_layers: int = 5
    arch: ArchConfig = field(default_factory=ArchConfig)

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "n_d"):
            if getattr(self, name) < 1:
                raise UsageError(f"{name.replace('_', '-')} must be >= 1")
        if self.b_distribution not in B_DISTRIBUTIONS:
            raise UsageError(
                f"b_distribution {self.b_distribution!r} is unknown; use one of "
                f"{', '.join(B_DISTRIBUTIONS)}"
            )


def map_targets(b: Tensor, config: UnpairedConfig, gen: torch.Generator) -> Tensor:
    """Target attributes in the net's units, with the reference's optional random intensity."""
    signed = b * 2 - 1
    if config.b_distribution == "uniform":
        return signed * torch.rand(b.shape, generator=gen) * (2 * config.thres_int)
    if config.b_distribution == "truncated_normal":
        scale = (torch.fmod(torch.randn(b.shape, generator=gen), 2) + 2) / 4.0
        return signed * scale * (2 * config.thres_int)
    return signed * config.thres_int


class _Batches:
    """Shuffled epochs of image indices, drawn from the run's own generator (so resumable)."""

    def __init__(self, probes: CelebAProbes, batch_size: int, gen: torch.Generator) -> None:
        self.probes, self.batch_size, self.gen = probes, batch_size, gen

    def next(self) -> tuple[Tensor, Tensor]:
        # A fresh permutation per batch keeps the RNG state the only state (no epoch cursor);
        # sampling without replacement within a batch, as a shuffled loader would.
        idx = torch.randperm(len(self.probes), generator=self.gen)[: self.batch_size]
        images = self.probes.load_images(idx.tolist())
        return images * 2 - 1, self.probes.attrs[idx]


def open_data(config: UnpairedConfig) -> CelebAProbes:
    probes = CelebAProbes(
        Path(config.data),
        config.attr_names,
        preprocess=Preprocess(center_crop=config.center_crop, size=config.arch.img_size),
    )
    if len(probes) < config.batch_size:
        raise UsageError(
            f"{config.data} holds {len(probes)} images, fewer than the batch size "
            f"{config.batch_size}; lower --batch-size"
        )
    return probes


def provenance(
    config: UnpairedConfig, steps_done: int
) -> dict[str, str | int | float | bool | None]:
    return {
        "trainer": "sia-audit train-generator",
        "mode": MODE,
        "data": config.data,
        "renderer_version": None,
        "tool_version": sia_audit.__version__,
        "seed": config.seed,
        "steps": steps_done,
        "steps_planned": config.steps,
        "batch_size": config.batch_size,
        "lr": config.lr,
        "n_d": config.n_d,
    }


def train_unpaired(
    config: UnpairedConfig,
    *,
    state_path: Path | None = None,
    checkpoint_every: int = 0,
    resume: bool = False,
    progress: TrainProgress | None = None,
    stop_at: int | None = None,
) -> TrainResult:
    """Train AttGAN as the reference does: n_d critic updates, then one generator update.

    D: -(D(x) - D(G(x, b))) + lambda_gp * GP + lambda_3 * BCE(C(x), a).
    G: -D(G(x, b)) + lambda_2 * BCE(C(G(x, b)), b) + lambda_1 * L1(G(x, a), x).
    Each update draws its own batch; targets b are the batch's attributes shuffled.
    """
    probes = open_data(config)
    record = config_record(config)
    gen = torch.Generator().manual_seed(config.seed)
    attr_names: Sequence[str] = config.attr_names
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        generator = config.arch.build(attr_names, config.thres_int)
        disc = Discriminators(
            dim=config.dis_dim,
            fc_dim=config.dis_fc_dim,
            fc_acti="relu",  # train.py's default, not the class's
            n_layers=config.dis_layers,
            img_size=config.arch.img_size,
            n_attrs=len(attr_names),
        )
    net = generator.net
    betas = (config.beta1, config.beta2)
    opt_g = torch.optim.Adam(net.parameters(), lr=config.lr, betas=betas)
    opt_d = torch.optim.Adam(disc.parameters(), lr=config.lr, betas=betas)
    start = 0
    if resume:
        if state_path is None:
            raise UsageError("cannot resume without a training-state path; pass --out")
        state = load_state(state_path, MODE, record)
        net.load_state_dict(state["G"])
        disc.load_state_dict(state["D"])
        opt_g.load_state_dict(state["optim_G"])
        opt_d.load_state_dict(state["optim_D"])
        gen.set_state(state["rng"])
        start = int(state["step"])

    def checkpoint(step: int) -> None:
        if state_path is not None:
            save_state(
                state_path,
                {
                    "mode": MODE,
                    "config": record,
                    "step": step,
                    "G": net.state_dict(),
                    "D": disc.state_dict(),
                    "optim_G": opt_g.state_dict(),
                    "optim_D": opt_d.state_dict(),
                    "rng": rng_state(gen),
                },
            )

    batches = _Batches(probes, config.batch_size, gen)
    end = config.steps if stop_at is None else min(stop_at, config.steps)
    losses: dict[str, float] = {}
    net.train().requires_grad_(True)
    disc.train()
    step = start
    for step in range(start + 1, end + 1):
        t0 = time.perf_counter()
        disc.requires_grad_(True)
        for _ in range(config.n_d):
            x, a = batches.next()
            b = a[torch.randperm(len(a), generator=gen)]
            with torch.no_grad():
                fake = net(x, map_targets(b, config, gen))
            d_real, dc_real = disc(x)
            d_fake, _ = disc(fake)
            df_loss = -(d_real.mean() - d_fake.mean())
            df_gp = gradient_penalty(disc, x, fake, gen)
            dc_loss = F.binary_cross_entropy_with_logits(dc_real, a)
            d_loss = df_loss + config.lambda_gp * df_gp + config.lambda_3 * dc_loss
            opt_d.zero_grad(set_to_none=True)
            d_loss.backward()
            opt_d.step()
        disc.requires_grad_(False)
        x, a = batches.next()
        b = a[torch.randperm(len(a), generator=gen)]
        zs = net.encode(x)
        fake = net.decode(zs, map_targets(b, config, gen))
        recon = net.decode(zs, (a * 2 - 1) * config.thres_int)
        d_fake, dc_fake = disc(fake)
        gf_loss = -d_fake.mean()
        gc_loss = F.binary_cross_entropy_with_logits(dc_fake, b)
        gr_loss = (recon - x).abs().mean()
        g_loss = gf_loss + config.lambda_2 * gc_loss + config.lambda_1 * gr_loss
        opt_g.zero_grad(set_to_none=True)
        g_loss.backward()
        opt_g.step()
        losses = {
            "loss": g_loss.item(),
            "d_loss": d_loss.item(),
            "gc_loss": gc_loss.item(),
            "gr_loss": gr_loss.item(),
            "sec": time.perf_counter() - t0,
        }
        if checkpoint_every and step % checkpoint_every == 0:
            checkpoint(step)
        if progress is not None:
            progress(step, config.steps, losses)
    return end_of_run(
        generator, step, start, config.steps, losses, checkpoint, provenance(config, step)
    )


def header_attributes(root: Path) -> tuple[str, ...]:
    """The attribute names in a CelebA-format folder's header line (the second line)."""
    from sia_audit.probes.celeba_files import ATTR_FILE

    path = Path(root) / ATTR_FILE
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(
            f"cannot read {path} ({exc}); point DATA at a CelebA-format folder"
        ) from None
    if len(lines) < 2 or not lines[1].split():
        raise UsageError(f"{path} has no header line of attribute names; fix the file")
    return tuple(lines[1].split())
