"""The demo keypoint detector: 68 iBUG landmarks as heatmaps, its recipe and its training.

The plateau. Trained on the contract's loss alone (MSE against peak-1 Gaussians), a heatmap net
first learns the cheapest answer, near-zero maps: the Gaussians cover well under 1% of the
pixels, so a flat map is almost optimal and the gradient that would move a peak onto its
landmark is tiny. A 250-step smoke run of the classifier recipe (`classifier.py`) sat there
at NME 1.3, and so did this net with the KL term below but the MSE at full weight from step 1
(NME 1.1 after 300 steps).

The recipe. Each map, times BETA, is also read as a distribution over pixels, and its KL
divergence from softmax(BETA * target) gives every map a full-strength pull toward its landmark
from the first step. The squared error is kept at weight 0.01 while the peaks form, then ramped
log-linearly to 1 between 30% and 60% of training. Both terms are minimised by the same output,
the peak-1 Gaussian itself (the KL fixes a map up to a constant, the squared error fixes the
constant), so at convergence the maps fit the contract and the MSE the attack ascends measures
how far a prediction moved.

As for the classifiers, half of every batch is seen through the shipped generator,
G(x, a), so the detector is robust to reconstructions before anything is attacked through it.
Maps are 64x64, one cell per input pixel (made at 32x32 and unfolded by a pixel shuffle), so
rounding to the argmax's cell costs ~0.02 NME instead of ~0.04 at 32x32.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from scripts.training.archive import write_target
from scripts.training.data import MEAN, SIZE, STD, faces, normalise, shipped_generator
from scripts.training.log import Log
from sia_audit.generators.checkpoint import load_generator
from sia_audit.generators.interface import Generator
from sia_audit.probes.synthfaces.sampler import AttributeSampler
from sia_audit.targets.tasks import HeatmapTask

POINTS = 68
NME_FAILURE = 0.10

# Keep every (B, 68, 64, 64) float32 tensor under glibc's 32 MB mmap threshold: above it each
# one is a fresh mmap, and the page faults cost as much CPU as the training itself (batch 32,
# 35.7 MB a map tensor, ran 29 ms a face, 13 of them in the kernel; batch 28, 17.8 ms).
CHUNK = 16  # faces a forward pass at evaluation


@dataclass(frozen=True)
class KeypointRecipe:
    """Everything that decides the model; the held-out set is seeded apart from training."""

    seed: int = 1
    steps: int = 800
    batch: int = 28  # half renders, half reconstructions; see CHUNK for why not 32
    lr: float = 2e-3  # Adam; linear warmup, then cosine to 0
    warmup: int = 50
    width: int = 24
    heatmap: int = 64  # output side; 64 = one cell per input pixel
    sigma: float = 2.0  # the contract's Gaussian, in heatmap pixels
    beta: float = 10.0  # spatial-softmax temperature: logits = beta * map
    mse_start: float = 0.01  # weight of the per-map sum of squared errors while peaks form
    mse_weight: float = 1.0  # ... and after the ramp: it fixes the maps' level (peak 1, floor 0)
    ramp: tuple[float, float] = (0.3, 0.6)  # fractions of training over which the weight rises
    eval_every: int = 100
    eval_faces: int = 512
    eval_seed: int = 10_001  # as the classifiers' held-out faces: 10_000 + seed


def block(c_in: int, c_out: int, stride: int = 1) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False),
        nn.BatchNorm2d(c_out),
        nn.ReLU(inplace=True),
    )


class HeatmapNet(nn.Module):
    """Encoder to 8x8, decoder back to 32x32 with skips, then the maps at 32 or 64 pixels."""

    def __init__(self, width: int = 24, points: int = POINTS, heatmap: int = 64) -> None:
        super().__init__()
        w = width
        self.stem = nn.Sequential(block(3, w // 2), block(w // 2, w, 2), block(w, w))  # 32x32
        self.down16 = nn.Sequential(block(w, 2 * w, 2), block(2 * w, 2 * w))
        self.down8 = nn.Sequential(block(2 * w, 4 * w, 2), block(4 * w, 4 * w), block(4 * w, 4 * w))
        self.up16 = block(6 * w, 2 * w)
        self.up32 = block(3 * w, 2 * w)
        self.unfold = heatmap // 32
        self.head = nn.Conv2d(2 * w, points * self.unfold**2, 1)

    def forward(self, x: Tensor) -> Tensor:
        """x: normalised images (B, 3, 64, 64) -> heatmaps (B, 68, heatmap, heatmap)."""
        s32 = self.stem(x)
        s16 = self.down16(s32)
        s8 = self.down8(s16)
        u16 = self.up16(torch.cat([F.interpolate(s8, scale_factor=2.0), s16], 1))
        u32 = self.up32(torch.cat([F.interpolate(u16, scale_factor=2.0), s32], 1))
        out = self.head(u32)
        return F.pixel_shuffle(out, self.unfold) if self.unfold > 1 else out


def losses(out: Tensor, points: Tensor, task: HeatmapTask, beta: float) -> tuple[Tensor, Tensor]:
    """(KL of the spatial softmax, per-map sum of squared errors), each averaged over maps."""
    target = task.heatmaps(points, (out.shape[2], out.shape[3]), out.dtype)
    q = F.softmax(beta * target.flatten(2), dim=2)
    log_p = F.log_softmax(beta * out.flatten(2), dim=2)
    kl = (q * (q.clamp_min(1e-12).log() - log_p)).sum(2).mean()
    sse = (out - target).pow(2).sum(dim=(2, 3)).mean()
    return kl, sse


def mse_weight(recipe: KeypointRecipe, step: int) -> float:
    """Log-linear ramp from mse_start to mse_weight between the two ramp fractions."""
    start, end = (int(f * recipe.steps) for f in recipe.ramp)
    t = min(1.0, max(0.0, (step - start) / max(1, end - start)))
    return recipe.mse_start * (recipe.mse_weight / recipe.mse_start) ** t


def learning_rate(recipe: KeypointRecipe, step: int) -> float:
    if step <= recipe.warmup:
        return recipe.lr * step / recipe.warmup
    done = (step - recipe.warmup) / max(1, recipe.steps - recipe.warmup)
    return recipe.lr * 0.5 * (1 + math.cos(math.pi * done))


def batch(n: int, rng: torch.Generator, generator: Generator) -> tuple[Tensor, Tensor]:
    """n fresh faces (images in [0, 1], landmarks), the second half replaced by G(x, a)."""
    x, attrs, _, points = faces(n, rng, AttributeSampler())
    with torch.no_grad():
        x[n // 2 :] = generator(x[n // 2 :], attrs[n // 2 :])
    return x, points


@dataclass(frozen=True)
class HeldOut:
    """Held-out renders x0, their reconstructions G(x0, a0) and the true landmarks."""

    clean: Tensor
    recon: Tensor
    points: Tensor


def held_out(recipe: KeypointRecipe, generator: Generator) -> HeldOut:
    """Seeded faces with decorrelated attributes, drawn apart from the training stream."""
    rng = torch.Generator().manual_seed(recipe.eval_seed)
    x, attrs, _, points = faces(recipe.eval_faces, rng, AttributeSampler())
    with torch.no_grad():
        parts = zip(x.split(CHUNK), attrs.split(CHUNK), strict=True)
        recon = torch.cat([generator(xs, a) for xs, a in parts])
    return HeldOut(x, recon, points)


@torch.no_grad()
def nme(model: nn.Module, images: Tensor, points: Tensor, task: HeatmapTask) -> Tensor:
    parts = zip(images.split(CHUNK), points.split(CHUNK), strict=True)
    return torch.cat([task.error(model(normalise(x)), p) for x, p in parts])


def evaluate_keypoints(model: nn.Module, data: HeldOut, task: HeatmapTask) -> dict[str, float]:
    """Mean NME and failure rate (NME > 0.10) on clean renders and on reconstructions."""
    model.eval()
    figures: dict[str, float] = {}
    for name, images in (("clean", data.clean), ("recon", data.recon)):
        errors = nme(model, images, data.points, task)
        figures[f"nme_{name}"] = float(errors.mean())
        figures[f"fail_{name}"] = float((errors > NME_FAILURE).float().mean())
    model.train()
    return figures


def train_keypoints(
    recipe: KeypointRecipe, log: Log, generator: Path | None = None
) -> tuple[nn.Module, dict[str, float]]:
    """Train from the seed; log held-out figures every eval_every steps; return the last.

    `generator` is the checkpoint the reconstructions come from (default: the shipped one).
    """
    torch.manual_seed(recipe.seed)
    rng = torch.Generator().manual_seed(recipe.seed)
    task = HeatmapTask(num_keypoints=POINTS, sigma=recipe.sigma, nme_failure=NME_FAILURE)
    gen_model = load_generator(generator or shipped_generator())
    data = held_out(recipe, gen_model)
    model = HeatmapNet(recipe.width, POINTS, recipe.heatmap)
    params = sum(p.numel() for p in model.parameters())
    log(f"keypoints: training {recipe.steps} steps, {params} parameters, {recipe}")
    opt = torch.optim.Adam(model.parameters(), lr=recipe.lr)
    figures: dict[str, float] = {}
    t0 = time.time()
    for step in range(1, recipe.steps + 1):
        for group in opt.param_groups:
            group["lr"] = learning_rate(recipe, step)
        x, points = batch(recipe.batch, rng, gen_model)
        kl, sse = losses(model(normalise(x)), points, task, recipe.beta)
        loss = kl + mse_weight(recipe, step) * sse
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % recipe.eval_every == 0 or step == recipe.steps:
            figures = evaluate_keypoints(model, data, task)
            log(
                f"step {step}/{recipe.steps} kl {kl.item():.4f} sse {sse.item():.4f} "
                + " ".join(f"{k} {v:.4f}" for k, v in figures.items())
                + f" elapsed {time.time() - t0:.0f}s"
            )
    return model.eval(), figures


def save_keypoints(
    model: nn.Module,
    recipe: KeypointRecipe,
    figures: dict[str, float],
    path: Path,
    *,
    trained_by: str,
) -> None:
    """TorchScript at `path` with the keypoints-heatmap contract; recipe and figures as
    provenance."""
    contract = {
        "task": "keypoints-heatmap",
        "input_size": [SIZE, SIZE],
        "mean": list(MEAN),
        "std": list(STD),
        "num_keypoints": POINTS,
        "heatmap_sigma": recipe.sigma,
        "nme_failure": NME_FAILURE,
    }
    provenance = {
        "trained_by": trained_by,
        "recipe": asdict(recipe),
        "held_out": figures,
    }
    write_target(model, path, contract, provenance)
