"""Paired training on synthfaces: the renderer draws the true edit, so G learns it with L1."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import Tensor

import sia_audit
from sia_audit.errors import UsageError
from sia_audit.fsutil import sha256_of
from sia_audit.generators.attgan import AttGANGenerator, Discriminators
from sia_audit.generators.checkpoint import load_checkpoint
from sia_audit.generators.region_metrics import REGION_METRICS
from sia_audit.generators.training.state import (
    ArchConfig,
    TrainProgress,
    TrainResult,
    config_record,
    end_of_run,
    gradient_penalty,
    load_state,
    lr_at,
    rng_state,
    save_state,
    set_lr,
)
from sia_audit.metrics.image_quality import edit_region
from sia_audit.probes.synthfaces.attributes import ATTRIBUTES
from sia_audit.probes.synthfaces.params import (
    IDENTITY_PARAMS,
    NUISANCE_PARAMS,
    RENDERER_VERSION,
    sample_unit,
)
from sia_audit.probes.synthfaces.renderer import render
from sia_audit.probes.synthfaces.sampler import AttributeSampler
from sia_audit.sources import SYNTHFACES

MODE = "paired"
DATA = SYNTHFACES

# Called every `monitor_every` steps with (step, generator in eval mode); returns named figures.
Monitor = Callable[[int, AttGANGenerator], Mapping[str, float]]


@dataclass(frozen=True)
class PairedConfig:
    """Everything that decides the weights of a paired run (same config + seed -> same weights)."""

    steps: int = 2000
    batch_size: int = 32
    seed: int = 0
    lr: float = 1e-3
    lr_final_frac: float = 0.05  # cosine decay to lr * this at the last step
    warmup: int = 100
    beta1: float = 0.9
    beta2: float = 0.999
    lambda_rec: float = 1.0
    # L1 over the pixels the true edit changes (|truth - x| > 1/255), normalised per image by
    # their count: a moustache of 60 pixels then weighs as much as a hair colour of 1,100.
    lambda_region: float = 0.0
    # How the region term measures the error: "l1" (mean absolute) or "rms" (root of the mean
    # square, each image's region weighted alike). The region goal is a PSNR; where an edge's
    # place is in doubt, the squared error is least for the average of its places, the absolute
    # error for one of them.
    region_metric: str = "l1"
    # L1 of the horizontal and vertical pixel differences of the edit's error inside the same
    # region, normalised the same way: it asks for the truth's edges where they are, which plain
    # L1 leaves to the few pixels on each edge.
    lambda_edge: float = 0.0
    # Fraction of sources drawn uniformly from [0, 1]^K instead of label-like vectors: the
    # attack moves attributes continuously, so G must read intermediate inputs too.
    random_source_frac: float = 0.25
    # Fraction of targets drawn uniformly; the rest change one attribute of the source.
    random_target_frac: float = 0.5
    # Relative weights of the attributes as the one that a single edit changes, in ATTRIBUTES'
    # order (empty = each equally often): more practice for the edits a generator draws worst.
    edit_weights: tuple[float, ...] = ()
    thres_int: float = 0.5
    # Optional WGAN-GP critic on the edits (0 = off): L1 alone is enough when the truth is known,
    # a critic can sharpen details L1 blurs. One critic update per generator update.
    lambda_adv: float = 0.0
    lambda_gp: float = 10.0
    dis_dim: int = 32
    dis_fc_dim: int = 256
    dis_layers: int = 4
    arch: ArchConfig = field(default_factory=ArchConfig)
    # Fine-tuning: start from this checkpoint's generator weights instead of the seed's
    # initialisation ("" = from scratch). Its architecture must be `arch`.
    init_from: str = ""

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size"):
            if getattr(self, name) < 1:
                raise UsageError(f"{name.replace('_', '-')} must be >= 1")
        if not self.lr > 0:
            raise UsageError(f"learning rate {self.lr} is invalid; use a number > 0")
        for name in ("random_source_frac", "random_target_frac"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise UsageError(f"{name} must be in [0, 1]")
        if self.region_metric not in REGION_METRICS:
            raise UsageError(
                f"region metric {self.region_metric!r}; use one of {', '.join(REGION_METRICS)}"
            )
        w = self.edit_weights
        if w and (len(w) != len(ATTRIBUTES) or min(w) < 0 or not sum(w) > 0):
            raise UsageError(
                f"edit weights must be {len(ATTRIBUTES)} numbers >= 0 with a positive sum"
            )


@dataclass(frozen=True)
class PairedBatch:
    """Sources x = R(id, nu, a) and true edits R(id, nu, b), all in [0, 1]."""

    x: Tensor
    a: Tensor
    b: Tensor
    truth: Tensor


def sample_sources(
    n: int, gen: torch.Generator, random_frac: float
) -> tuple[Tensor, Tensor, Tensor]:
    """Identities, nuisances and source attributes; a `random_frac` share of rows is uniform."""
    identity = sample_unit(n, IDENTITY_PARAMS, gen)
    nuisance = sample_unit(n, NUISANCE_PARAMS, gen)
    _, a = AttributeSampler().sample(n, gen)
    uniform = torch.rand(a.shape, generator=gen)
    use_uniform = torch.rand((n, 1), generator=gen) < random_frac
    return identity, nuisance, torch.where(use_uniform, uniform, a)


def sample_targets(
    a: Tensor, gen: torch.Generator, random_frac: float, edit_weights: tuple[float, ...] = ()
) -> Tensor:
    """Targets: uniform vectors, or `a` with one attribute flipped (1 - a_k) or set at random;
    k is drawn uniformly, or in proportion to `edit_weights`."""
    n, k = a.shape
    uniform = torch.rand(a.shape, generator=gen)
    if edit_weights:
        weights = torch.tensor(edit_weights, dtype=torch.float64)
        col = torch.multinomial(weights, n, replacement=True, generator=gen)
    else:  # the draw every run before edit_weights made (same seed, same batches)
        col = torch.randint(0, k, (n,), generator=gen)
    flip = torch.rand((n,), generator=gen) < 0.5
    value = torch.where(flip, 1 - a[torch.arange(n), col], torch.rand((n,), generator=gen))
    single = a.clone()
    single[torch.arange(n), col] = value
    use_uniform = torch.rand((n, 1), generator=gen) < random_frac
    return torch.where(use_uniform, uniform, single)


def sample_batch(n: int, size: int, gen: torch.Generator, config: PairedConfig) -> PairedBatch:
    identity, nuisance, a = sample_sources(n, gen, config.random_source_frac)
    b = sample_targets(a, gen, config.random_target_frac, config.edit_weights)
    # One render call for both halves: the renderer is batched and cheaper per face that way.
    images = render(identity.repeat(2, 1), nuisance.repeat(2, 1), torch.cat([a, b]), size).images
    return PairedBatch(images[:n], a, b, images[n:])


def region_loss(err: Tensor, x: Tensor, truth: Tensor, metric: str = "l1") -> Tensor:
    """The absolute error `err` (B, 3, H, W) inside each image's edit region: the mean over
    images of its mean ("l1"), or the root of the mean over images of its mean square ("rms",
    the error a region PSNR scores, each image's region weighted alike as in "l1")."""
    mask = edit_region(x, truth)
    count = (3 * mask.flatten(1).sum(1)).clamp_min(1.0)
    if metric == "rms":  # the small constant keeps the root's gradient finite at zero error
        return ((err.square() * mask).flatten(1).sum(1) / count).mean().add(1e-8).sqrt()
    return ((err * mask).flatten(1).sum(1) / count).mean()


def edge_loss(out: Tensor, x: Tensor, truth: Tensor) -> Tensor:
    """Mean over images of the L1 error of the horizontal and vertical pixel differences of
    `out` against `truth`, over the pairs of neighbours either of which lies in the edit region,
    normalised per image by the region's size as `region_loss` is."""
    mask = edit_region(x, truth)
    diff = out - truth
    dx = (diff[..., :, 1:] - diff[..., :, :-1]).abs() * torch.maximum(
        mask[..., :, 1:], mask[..., :, :-1]
    )
    dy = (diff[..., 1:, :] - diff[..., :-1, :]).abs() * torch.maximum(
        mask[..., 1:, :], mask[..., :-1, :]
    )
    total = dx.flatten(1).sum(1) + dy.flatten(1).sum(1)
    return (total / (3 * mask.flatten(1).sum(1)).clamp_min(1.0)).mean()


def provenance(
    config: PairedConfig, steps_done: int, init_sha256: str = ""
) -> dict[str, str | int | float | bool | None]:
    """What a checkpoint records of its run; `init_sha256`: the fine-tuning start's, as read
    when the run began (read now if not given)."""
    return {
        "trainer": "sia-audit train-generator",
        "mode": MODE,
        "data": DATA,
        "renderer_version": RENDERER_VERSION,
        "tool_version": sia_audit.__version__,
        "seed": config.seed,
        "steps": steps_done,
        "steps_planned": config.steps,
        "batch_size": config.batch_size,
        "lr": config.lr,
        "lambda_rec": config.lambda_rec,
        "lambda_region": config.lambda_region,
        **({"lambda_edge": config.lambda_edge} if config.lambda_edge else {}),
        **({"region_metric": config.region_metric} if config.region_metric != "l1" else {}),
        **(
            {"edit_weights": ",".join(f"{w:g}" for w in config.edit_weights)}
            if config.edit_weights
            else {}
        ),
        "lambda_adv": config.lambda_adv,
        **(
            {
                "init_from": Path(config.init_from).name,
                "init_sha256": init_sha256 or sha256_of(Path(config.init_from)),
            }
            if config.init_from
            else {}
        ),
    }


def _initialise_from(generator: AttGANGenerator, source: str) -> None:
    """Copy a checkpoint's generator weights into `generator` (same architecture only)."""
    start = load_checkpoint(Path(source))
    mine, theirs = generator.net.state_dict(), start.net.state_dict()
    shapes = {k: tuple(v.shape) for k, v in mine.items()}
    if shapes != {k: tuple(v.shape) for k, v in theirs.items()} or list(start.attr_names) != list(
        generator.attr_names
    ):
        raise UsageError(
            f"cannot fine-tune from {source}: its architecture or attributes are not the config's"
        )
    generator.net.load_state_dict(theirs)


def check_init_from(config: PairedConfig) -> None:
    """Refuse, before any training, a fine-tuning start that is not a generator checkpoint of
    the config's architecture and attributes (UsageError)."""
    if config.init_from:
        with torch.random.fork_rng(devices=[]):
            _initialise_from(config.arch.build(ATTRIBUTES, config.thres_int), config.init_from)


def _critic_step(
    disc: Discriminators,
    opt: torch.optim.Optimizer,
    real: Tensor,
    fake: Tensor,
    config: PairedConfig,
    gen: torch.Generator,
) -> dict[str, float]:
    """One WGAN-GP critic update: true edits are real, G's edits are fake."""
    d_loss = -(disc(real)[0].mean() - disc(fake)[0].mean())
    d_gp = gradient_penalty(disc, real, fake, gen)
    total = d_loss + config.lambda_gp * d_gp
    opt.zero_grad(set_to_none=True)
    total.backward()
    opt.step()
    return {"d_loss": d_loss.item(), "d_gp": d_gp.item()}


def train_paired(
    config: PairedConfig,
    *,
    state_path: Path | None = None,
    checkpoint_every: int = 0,
    resume: bool = False,
    progress: TrainProgress | None = None,
    monitor: Monitor | None = None,
    monitor_every: int = 0,
    stop_at: int | None = None,
) -> TrainResult:
    """Train an AttGAN generator on freshly rendered synthfaces pairs.

    loss = L1(G(x, b), R(id, nu, b)) + lambda_rec * L1(G(x, a), x)
    + lambda_region * (the first error inside the pixels the edit changes, as `region_metric`)
    + lambda_edge * (its pixel differences there), plus
    lambda_adv * -D(G(x, b)) when the optional critic is on. With `state_path`, the
    training state is saved every `checkpoint_every` steps and when the run stops; `resume`
    continues from it. `stop_at` ends the run early after that many steps (state saved), as an
    interruption would.
    """
    record = config_record(config)
    init_sha256 = sha256_of(Path(config.init_from)) if config.init_from else ""
    if init_sha256:  # resuming from another start file (same path, new weights) is refused
        record["init_sha256"] = init_sha256
    gen = torch.Generator().manual_seed(config.seed)
    # Initialise from the seed without disturbing (or depending on) the caller's global RNG.
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(config.seed)
        generator = config.arch.build(ATTRIBUTES, config.thres_int)
        if config.init_from:
            _initialise_from(generator, config.init_from)
        disc = (
            Discriminators(
                dim=config.dis_dim,
                fc_dim=config.dis_fc_dim,
                fc_acti="relu",
                n_layers=config.dis_layers,
                img_size=config.arch.img_size,
                n_attrs=len(ATTRIBUTES),
            )
            if config.lambda_adv > 0
            else None
        )
    betas = (config.beta1, config.beta2)
    optimizer = torch.optim.Adam(generator.parameters(), lr=config.lr, betas=betas)
    opt_d = torch.optim.Adam(disc.parameters(), lr=config.lr, betas=betas) if disc else None
    start = 0
    if resume:
        if state_path is None:
            raise UsageError("cannot resume without a training-state path; pass --out")
        state = load_state(state_path, MODE, record)
        generator.net.load_state_dict(state["G"])
        optimizer.load_state_dict(state["optim_G"])
        if disc is not None and opt_d is not None:
            disc.load_state_dict(state["D"])
            opt_d.load_state_dict(state["optim_D"])
        gen.set_state(state["rng"])
        start = int(state["step"])

    def checkpoint(step: int) -> None:
        if state_path is not None:
            payload = {
                "mode": MODE,
                "config": record,
                "step": step,
                "G": generator.net.state_dict(),
                "optim_G": optimizer.state_dict(),
                "rng": rng_state(gen),
            }
            if disc is not None and opt_d is not None:
                payload.update(D=disc.state_dict(), optim_D=opt_d.state_dict())
            save_state(state_path, payload)

    end = config.steps if stop_at is None else min(stop_at, config.steps)
    size = config.arch.img_size
    losses: dict[str, float] = {}
    generator.train().requires_grad_(True)
    step = start
    for step in range(start + 1, end + 1):
        t0 = time.perf_counter()
        lr = lr_at(step - 1, config.steps, config.lr, config.lr_final_frac, config.warmup)
        set_lr(optimizer, lr)
        batch = sample_batch(config.batch_size, size, gen, config)
        n = config.batch_size
        # Encode once, decode the edit and the reconstruction from the same features.
        zs = generator.encode(batch.x)
        out = generator.decode(tuple(torch.cat([z, z]) for z in zs), torch.cat([batch.b, batch.a]))
        edit_err = (out[:n] - batch.truth).abs()
        edit_l1 = edit_err.mean()
        rec_l1 = (out[n:] - batch.x).abs().mean()
        loss = edit_l1 + config.lambda_rec * rec_l1
        region_l1 = region_loss(edit_err, batch.x, batch.truth)
        if config.lambda_region > 0:
            region = (
                region_l1
                if config.region_metric == "l1"
                else region_loss(edit_err, batch.x, batch.truth, config.region_metric)
            )
            loss = loss + config.lambda_region * region
        if config.lambda_edge > 0:
            loss = loss + config.lambda_edge * edge_loss(out[:n], batch.x, batch.truth)
        extra: dict[str, float] = {}
        if disc is not None and opt_d is not None:
            set_lr(opt_d, lr)
            extra = _critic_step(disc, opt_d, batch.truth, out[:n].detach(), config, gen)
            disc.requires_grad_(False)
            g_adv = -disc(out[:n])[0].mean()
            disc.requires_grad_(True)
            loss = loss + config.lambda_adv * g_adv
            extra["g_adv"] = g_adv.item()
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses = {
            "loss": loss.item(),
            "edit_l1": edit_l1.item(),
            "rec_l1": rec_l1.item(),
            "region_l1": region_l1.item(),
            **extra,
            "lr": optimizer.param_groups[0]["lr"],
            "sec": time.perf_counter() - t0,
        }
        if checkpoint_every and step % checkpoint_every == 0:
            checkpoint(step)
        if monitor is not None and monitor_every and step % monitor_every == 0:
            generator.eval()
            with torch.no_grad():
                losses.update(monitor(step, generator))
            generator.train()
        if progress is not None:
            progress(step, config.steps, losses)
    return end_of_run(
        generator,
        step,
        start,
        config.steps,
        losses,
        checkpoint,
        provenance(config, step, init_sha256),
    )
