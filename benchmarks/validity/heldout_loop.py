"""Thirteen training loops unlike the project's `fit` (Adam 2e-3, cosine, no augmentation).

The held-out suite trains most of its models with these, so that the audit is not only tested
on models from its own recipe. Same signature as `fit`; `lr` is ignored (each loop has its own
schedule). All augment every image: horizontal flip, a shift of up to 4 px (border pixels
repeated), contrast x U(0.9, 1.1) and brightness + U(-0.05, 0.05) in [0, 1] units.

`fit_sgd_aug`:
- SGD with Nesterov momentum 0.9, weight decay 5e-4 on weights (not on biases or norms);
- one-cycle schedule: warm up to 0.05 over the first 20% of the planned steps, cosine down;
- BCE with label smoothing 0.05.

`fit_adamw_aug`:
- AdamW at 1e-3, decoupled weight decay 0.05 on weights (not on biases or norms);
- linear warm-up over the first 10% of the planned steps, then linear decay to 0;
- plain BCE, gradients clipped to norm 1.

`fit_rmsprop_aug` (the recipe MobileNet and EfficientNet were published with, scaled down):
- RMSprop at 1e-3 (smoothing 0.9, momentum 0.9, eps 1e-3), weight decay 1e-5 on weights;
- linear warm-up over the first 5% of the planned steps, then exponential decay to 0.1x;
- BCE with label smoothing 0.1, no clipping.

`fit_sgd_mixup` (the classic ImageNet recipe, with mixup):
- SGD at 0.025 (the recipe's 0.1 per 256 images, scaled to the batch of 64) with heavy-ball
  momentum 0.9 (not Nesterov), weight decay 1e-4 on every parameter, as torch's optimiser
  applies it when given the whole model; at 0.05 Wearing_Lipstick's first control was still at
  chance (accuracy 0.40-0.65) after 150 steps, and the loop was changed before any of its
  models was kept;
- linear warm-up over the first 5% of the planned steps, then steps down 10x at 60% and at 85%;
- mixup (alpha 0.2): each batch mixed with a shuffled copy of itself, images and labels alike,
  at one Beta(0.2, 0.2) weight per batch; plain BCE on the mixed labels, no clipping.

`fit_adam_erase` (a hand-rolled recipe as a team might write it):
- Adam at 1e-3 (betas 0.9, 0.999), no weight decay;
- the rate halved every 20% of the planned steps (step decay, no warm-up);
- random erasing after the shared augmentation: half the images get one rectangle of 2-15%
  of the image (aspect 0.3-3.3) filled with Gaussian noise;
- plain BCE, gradients clipped to norm 5.

`fit_nadam_cutmix` (a recent-practice recipe: NAdam, cosine, CutMix):
- NAdam at 1e-3 (betas 0.9, 0.999) with weight decay 1e-4 (L2, as torch's NAdam applies it);
  torch's default is 2e-3: the rate was halved while the first EfficientNet-B0 controls did not
  train, before the cause was found in the network's head (heldout_nets.efficientnet_b0), and
  kept; no model trained at 2e-3 was kept;
- cosine annealing from the first step to 0 at the last (no warm-up);
- CutMix (alpha 1.0) on half the batches, drawn per batch: one box of 1 - Beta(1, 1) of the
  image, at a uniform centre and clipped to the image, pasted from a shuffled copy of the
  batch; the labels mixed by the share of the image the box covers; plain BCE, no clipping.

`fit_radam_smooth` (a cautious recipe for a network without batch norm):
- RAdam at 3e-3 (betas 0.9, 0.999) with decoupled weight decay 1e-4 on weights (not on biases);
  at torch's default 1e-3, with this schedule, the first SqueezeNet Smiling control was still at
  chance after 225 steps (the loop's toy task too after 600), and the loop was changed before
  any of its models was kept;
- polynomial decay of power 2 from the first step to 0 at the last (no warm-up: RAdam's own
  rectification damps its first steps);
- BCE with label smoothing 0.1, gradients clipped to norm 2.

`fit_adamax_restarts` (warm restarts, as in SGDR, with mixup):
- Adamax at 2e-3 (torch's default; betas 0.9, 0.999) with weight decay 1e-5 (L2, on every
  parameter, as torch's Adamax applies it when given the whole model);
- cosine annealing with warm restarts: three equal cycles over the planned steps, each from the
  peak rate down to 0, the rate back at the peak at a third and at two thirds;
- mixup (alpha 0.2) as in `fit_sgd_mixup`; plain BCE on the mixed labels, no clipping.

`fit_adam_plateau` (the tutorial recipe: Adam at its default, the rate cut when the loss stalls):
- Adam at 1e-3 (torch's default), no weight decay;
- the rate halved when the mean training loss of a window of 25 steps has not improved on the
  best window for 2 windows (ReduceLROnPlateau, factor 0.5, patience 2, counted in windows as
  Keras users count epochs);
- plain BCE, no clipping.

`fit_adagrad_crop` (Adagrad, with the crop-and-resize augmentation most vision pipelines use):
- Adagrad at 1e-2 (torch's default), no weight decay, no schedule;
- random resized crops after the shared augmentation: each image cropped to a share
  U(0.7, 1.0) of its area at an aspect ratio log-uniform in [3/4, 4/3], at a uniform position
  inside the image, and resized back (bilinear);
- plain BCE, no clipping.

`fit_adamw_noise` (one cycle with momentum cycling, and sensor noise):
- AdamW at a one-cycle rate (torch's OneCycleLR): from 3e-3 / 25 up to 3e-3 over the first 30%
  of the planned steps, cosine down to 3e-3 / 25e4 at the last, with beta1 cycled the other
  way (0.95 down to 0.85 at the peak, back to 0.95); decoupled weight decay 1e-2 on every
  parameter (torch's default);
- Gaussian pixel noise after the shared augmentation: every pixel of every image plus
  N(0, 0.03) in [0, 1] units;
- plain BCE, no clipping.

`fit_adadelta_steps` (the recipe of PyTorch's own MNIST example):
- Adadelta at 1.0 (torch's default rho 0.9, eps 1e-6), no weight decay;
- the rate times 0.7 after every fourteenth of the planned steps (the example's StepLR, stepped
  once per epoch over its 14 epochs), no warm-up;
- plain BCE, no clipping; the shared augmentation only.

`fit_sgd_rotate` (plain SGD with exponential decay, and small rotations):
- SGD at 0.02 with heavy-ball momentum 0.9 (not Nesterov), weight decay 5e-4 on weights (not
  on biases or norms);
- exponential decay every step from the first to 0.01x at the last (no warm-up);
- rotations after the shared augmentation: each image turned about its centre by a uniform
  angle in +-10 degrees (bilinear, border pixels repeated);
- plain BCE, no clipping.
`fit_adafactor_blur` (Adafactor, the memory-lean optimiser of large-model recipes, and blur):
- Adafactor at a relative step of 1e-2 (torch's default: each update scaled by its tensor's own
  RMS), decoupled weight decay 1e-2 on every parameter;
- linear warm-up over the first 10% of the planned steps, then cosine down to 0 at the last;
- Gaussian blur after the shared augmentation: half the images blurred by a separable 5 x 5
  Gaussian of width U(0.3, 1.2) px (border pixels repeated);
- plain BCE, gradients clipped to norm 1.
`fit_amsgrad_saturation` (Adam's AMSGrad variant, the transformer schedule, colour saturation):
- Adam at 1e-3 with AMSGrad (the running maximum of the second moment), no weight decay;
- linear warm-up over the first 5% of the planned steps, then the rate falls as the inverse
  square root of the step (the schedule of "Attention is all you need");
- saturation jitter after the shared augmentation: each image's colours moved toward their own
  grey (BT.601 luma) or away from it by a factor U(0.6, 1.4), clipped to the pixel range;
- plain BCE, no clipping.
"""

from __future__ import annotations

import math
import random
import time
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as F
from torch.optim import Optimizer
from torch.optim.lr_scheduler import LRScheduler

from scripts.training import Batch, Log
from scripts.training.fit import check

PEAK_LR = 0.05
ADAMW_LR = 1e-3
ADAMW_DECAY = 0.05
WARMUP = 0.1
RMSPROP_LR = 1e-3
RMSPROP_WARMUP = 0.05
RMSPROP_FLOOR = 0.1  # the schedule's last factor
SMOOTHING = 0.05
STEP_LR = 0.025
STEP_WARMUP = 0.05
STEP_AT = (0.6, 0.85)  # shares of the planned steps where the rate drops 10x
MIXUP_ALPHA = 0.2
SHIFT_PX = 4
ADAM_LR = 1e-3
HALVE_EVERY = 0.2  # share of the planned steps between halvings
ERASE_P = 0.5
ERASE_AREA = (0.02, 0.15)
ERASE_ASPECT = (0.3, 3.3)
NADAM_LR = 1e-3
NADAM_DECAY = 1e-4
CUTMIX_ALPHA = 1.0
CUTMIX_P = 0.5  # share of the batches mixed
RADAM_LR = 3e-3
RADAM_DECAY = 1e-4
RADAM_POWER = 2.0
RADAM_SMOOTHING = 0.1
RADAM_CLIP = 2.0
ADAMAX_LR = 2e-3
ADAMAX_DECAY = 1e-5
RESTARTS = 3  # cycles over the planned steps
PLATEAU_LR = 1e-3
PLATEAU_WINDOW = 25  # steps whose mean training loss the plateau rule reads
PLATEAU_FACTOR = 0.5
PLATEAU_PATIENCE = 2  # windows
ADAGRAD_LR = 1e-2
CROP_AREA = (0.7, 1.0)  # share of the image a random resized crop keeps
CROP_ASPECT = (3 / 4, 4 / 3)  # its width over its height
ONECYCLE_LR = 3e-3
ONECYCLE_RISE = 0.3  # share of the planned steps spent rising to the peak
NOISE_STD = 0.03  # in [0, 1] units
ADADELTA_LR = 1.0
ADADELTA_GAMMA = 0.7
ADADELTA_EPOCHS = 14  # the rate steps down once per this share of the planned steps
DECAY_LR = 0.02
DECAY_FLOOR = 0.01  # the exponential schedule's last factor
ROTATE_DEG = 10.0  # rotations drawn uniformly in +-this
ADAFACTOR_LR = 1e-2  # Adafactor's relative step: scaled by each tensor's own RMS
ADAFACTOR_DECAY = 1e-2
ADAFACTOR_WARMUP = 0.1  # share of the planned steps the rate rises over, then cosine to 0
BLUR_P = 0.5  # the share of images blurred
BLUR_SIGMA = (0.3, 1.2)  # a blurred image's Gaussian width, drawn uniformly, in pixels
BLUR_RADIUS = 2  # the kernel's half width (5 x 5)
AMSGRAD_LR = 1e-3
AMSGRAD_WARMUP = 0.05  # share of the planned steps the rate rises over, then 1 / sqrt(step)
SATURATION = (0.6, 1.4)  # each image's colour saturation scaled by a factor drawn uniformly
LUMA = (0.299, 0.587, 0.114)  # the grey an image desaturates toward (ITU-R BT.601)


def augment(x: Tensor, rng: torch.Generator) -> Tensor:
    """Flip, shift, contrast and brightness, per image, on images normalised with mean = std =
    0.5 (so [0, 1] units are doubled)."""
    n, _, h, w = x.shape
    flip = torch.rand(n, generator=rng) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    shift = (torch.rand(n, 2, generator=rng) * 2 - 1) * SHIFT_PX
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1
    theta[:, 0, 2] = shift[:, 0] * 2 / w
    theta[:, 1, 2] = shift[:, 1] * 2 / h
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    x = F.grid_sample(x, grid, padding_mode="border", align_corners=False)
    contrast = 0.9 + 0.2 * torch.rand(n, 1, 1, 1, generator=rng)
    bright = (torch.rand(n, 1, 1, 1, generator=rng) * 2 - 1) * 0.1
    return (x + 1) * contrast - 1 + bright


def erase(x: Tensor, rng: torch.Generator) -> Tensor:
    """Random erasing: each image, with probability ERASE_P, gets one rectangle of noise."""
    n, _, h, w = x.shape
    out = x.clone()
    draws = torch.rand(n, 4, generator=rng)
    noise = torch.randn(x.shape, generator=rng)
    lo_a, hi_a = ERASE_AREA
    lo_r, hi_r = (torch.log(torch.tensor(v)) for v in ERASE_ASPECT)
    for i in range(n):
        if draws[i, 0] >= ERASE_P:
            continue
        area = (lo_a + (hi_a - lo_a) * draws[i, 1].item()) * h * w
        aspect = torch.exp(lo_r + (hi_r - lo_r) * draws[i, 2]).item()
        eh = min(h, max(1, round((area * aspect) ** 0.5)))
        ew = min(w, max(1, round((area / aspect) ** 0.5)))
        top = int(draws[i, 3].item() * (h - eh + 1)) % (h - eh + 1)
        left = int(torch.rand(1, generator=rng).item() * (w - ew + 1)) % (w - ew + 1)
        out[i, :, top : top + eh, left : left + ew] = noise[i, :, top : top + eh, left : left + ew]
    return out


def resized_crop(x: Tensor, rng: torch.Generator) -> Tensor:
    """Each image cropped to a random share of its area and aspect, resized back (bilinear)."""
    n = x.shape[0]
    draws = torch.rand(n, 4, generator=rng)
    area = CROP_AREA[0] + (CROP_AREA[1] - CROP_AREA[0]) * draws[:, 0]
    lo, hi = math.log(CROP_ASPECT[0]), math.log(CROP_ASPECT[1])
    aspect = torch.exp(lo + (hi - lo) * draws[:, 1])
    # the crop's width and height as shares of the image's, neither above 1
    sw = (area * aspect).sqrt().clamp(max=1.0)
    sh = (area / aspect).sqrt().clamp(max=1.0)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 1, 1] = sw, sh
    # the centre, in [-1, 1] units, anywhere that keeps the crop inside the image
    theta[:, 0, 2] = (1 - sw) * (2 * draws[:, 2] - 1)
    theta[:, 1, 2] = (1 - sh) * (2 * draws[:, 3] - 1)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def add_noise(x: Tensor, rng: torch.Generator) -> Tensor:
    """Gaussian pixel noise of NOISE_STD in [0, 1] units (images normalised with mean = std =
    0.5, so twice that here)."""
    return x + 2 * NOISE_STD * torch.randn(x.shape, generator=rng)


def rotate(x: Tensor, rng: torch.Generator) -> Tensor:
    """Each image turned about its centre by a uniform angle in +-ROTATE_DEG (bilinear)."""
    n = x.shape[0]
    angle = (torch.rand(n, generator=rng) * 2 - 1) * math.radians(ROTATE_DEG)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = angle.cos()
    theta[:, 0, 1], theta[:, 1, 0] = -angle.sin(), angle.sin()
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)


def blur(x: Tensor, rng: torch.Generator) -> Tensor:
    """Each image, with probability BLUR_P, blurred by a separable Gaussian whose width is drawn
    uniformly in BLUR_SIGMA (edges repeated); the others unchanged."""
    n, c, h, w = x.shape
    sigma = BLUR_SIGMA[0] + (BLUR_SIGMA[1] - BLUR_SIGMA[0]) * torch.rand(n, generator=rng)
    blurred = torch.rand(n, generator=rng) < BLUR_P
    offsets = torch.arange(-BLUR_RADIUS, BLUR_RADIUS + 1, dtype=x.dtype)
    kernel = torch.exp(-0.5 * (offsets[None, :] / sigma[:, None].to(x.dtype)) ** 2)
    kernel = kernel / kernel.sum(dim=1, keepdim=True)  # (n, 2r + 1)
    k = kernel.repeat_interleave(c, dim=0)  # one per image and channel
    y = F.pad(x.reshape(1, n * c, h, w), (BLUR_RADIUS,) * 4, mode="replicate")
    y = F.conv2d(y, k[:, None, None, :], groups=n * c)  # along the rows
    y = F.conv2d(y, k[:, None, :, None], groups=n * c)  # along the columns
    return torch.where(blurred[:, None, None, None], y.reshape(n, c, h, w), x)


def saturate(x: Tensor, rng: torch.Generator) -> Tensor:
    """Each image's colour saturation scaled by a factor drawn uniformly in SATURATION: every
    pixel moved toward (below 1) or away from (above 1) its own grey, clipped to the pixel range
    (images normalised with mean = std = 0.5)."""
    factor = SATURATION[0] + (SATURATION[1] - SATURATION[0]) * torch.rand(x.shape[0], generator=rng)
    u = (x + 1) / 2
    grey = (u * torch.tensor(LUMA, dtype=x.dtype)[None, :, None, None]).sum(dim=1, keepdim=True)
    u = (grey + factor[:, None, None, None].to(x.dtype) * (u - grey)).clamp(0.0, 1.0)
    return u * 2 - 1


def _decay_groups(model: nn.Module, decay: float) -> list[dict]:
    """Weight decay on weights, none on biases and norms."""
    return [
        {"params": [p for p in model.parameters() if p.dim() > 1], "weight_decay": decay},
        {"params": [p for p in model.parameters() if p.dim() <= 1], "weight_decay": 0.0},
    ]


def _sgd(model: nn.Module, steps: int) -> tuple[Optimizer, LRScheduler]:
    opt = torch.optim.SGD(_decay_groups(model, 5e-4), lr=PEAK_LR, momentum=0.9, nesterov=True)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=PEAK_LR, total_steps=steps, pct_start=0.2, anneal_strategy="cos"
    )
    return opt, sched


def _adamw(model: nn.Module, steps: int) -> tuple[Optimizer, LRScheduler]:
    opt = torch.optim.AdamW(_decay_groups(model, ADAMW_DECAY), lr=ADAMW_LR)
    warm = max(1, round(WARMUP * steps))

    def factor(i: int) -> float:  # i: steps taken so far
        return (i + 1) / warm if i < warm else max(0.0, (steps - i) / (steps - warm))

    return opt, torch.optim.lr_scheduler.LambdaLR(opt, factor)


def _rmsprop(model: nn.Module, steps: int) -> tuple[Optimizer, LRScheduler]:
    opt = torch.optim.RMSprop(
        _decay_groups(model, 1e-5), lr=RMSPROP_LR, alpha=0.9, eps=1e-3, momentum=0.9
    )
    warm = max(1, round(RMSPROP_WARMUP * steps))

    def factor(i: int) -> float:  # i: steps taken so far
        if i < warm:
            return (i + 1) / warm
        return RMSPROP_FLOOR ** ((i - warm) / max(1, steps - warm))

    return opt, torch.optim.lr_scheduler.LambdaLR(opt, factor)


def _sgd_steps(model: nn.Module, steps: int) -> tuple[Optimizer, LRScheduler]:
    opt = torch.optim.SGD(model.parameters(), lr=STEP_LR, momentum=0.9, weight_decay=1e-4)
    warm = max(1, round(STEP_WARMUP * steps))

    def factor(i: int) -> float:  # i: steps taken so far
        if i < warm:
            return (i + 1) / warm
        return 0.1 ** sum(i >= share * steps for share in STEP_AT)

    return opt, torch.optim.lr_scheduler.LambdaLR(opt, factor)


def _adam_halving(model: nn.Module, steps: int) -> tuple[Optimizer, LRScheduler]:
    opt = torch.optim.Adam(model.parameters(), lr=ADAM_LR)
    every = max(1, round(HALVE_EVERY * steps))
    return opt, torch.optim.lr_scheduler.StepLR(opt, step_size=every, gamma=0.5)


def _nadam_cosine(model: nn.Module, steps: int) -> tuple[Optimizer, LRScheduler]:
    opt = torch.optim.NAdam(model.parameters(), lr=NADAM_LR, weight_decay=NADAM_DECAY)
    return opt, torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)


def _radam_polynomial(model: nn.Module, steps: int) -> tuple[Optimizer, LRScheduler]:
    groups = _decay_groups(model, RADAM_DECAY)
    opt = torch.optim.RAdam(groups, lr=RADAM_LR, decoupled_weight_decay=True)
    return opt, torch.optim.lr_scheduler.PolynomialLR(opt, total_iters=steps, power=RADAM_POWER)


def _adamax_restarts(model: nn.Module, steps: int) -> tuple[Optimizer, LRScheduler]:
    opt = torch.optim.Adamax(model.parameters(), lr=ADAMAX_LR, weight_decay=ADAMAX_DECAY)
    cycle = max(1, -(-steps // RESTARTS))
    return opt, torch.optim.lr_scheduler.CosineAnnealingWarmRestarts(opt, T_0=cycle)


def _adam_plateau(model: nn.Module, steps: int) -> tuple[Optimizer, LRScheduler]:  # noqa: ARG001
    opt = torch.optim.Adam(model.parameters(), lr=PLATEAU_LR)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
        opt, factor=PLATEAU_FACTOR, patience=PLATEAU_PATIENCE
    )
    return opt, sched


def _adagrad(model: nn.Module, steps: int) -> tuple[Optimizer, LRScheduler]:  # noqa: ARG001
    opt = torch.optim.Adagrad(model.parameters(), lr=ADAGRAD_LR)
    return opt, torch.optim.lr_scheduler.ConstantLR(opt, factor=1.0, total_iters=0)


def _adamw_onecycle(model: nn.Module, steps: int) -> tuple[Optimizer, LRScheduler]:
    opt = torch.optim.AdamW(model.parameters(), lr=ONECYCLE_LR)
    sched = torch.optim.lr_scheduler.OneCycleLR(
        opt, max_lr=ONECYCLE_LR, total_steps=steps, pct_start=ONECYCLE_RISE
    )
    return opt, sched


def _adadelta_steps(model: nn.Module, steps: int) -> tuple[Optimizer, LRScheduler]:
    opt = torch.optim.Adadelta(model.parameters(), lr=ADADELTA_LR)
    epoch = max(1, steps // ADADELTA_EPOCHS)
    return opt, torch.optim.lr_scheduler.StepLR(opt, step_size=epoch, gamma=ADADELTA_GAMMA)


def _sgd_exponential(model: nn.Module, steps: int) -> tuple[Optimizer, LRScheduler]:
    opt = torch.optim.SGD(_decay_groups(model, 5e-4), lr=DECAY_LR, momentum=0.9)
    gamma = DECAY_FLOOR ** (1 / max(1, steps))
    return opt, torch.optim.lr_scheduler.ExponentialLR(opt, gamma=gamma)


def _adafactor_warmup(model: nn.Module, steps: int) -> tuple[Optimizer, LRScheduler]:
    opt = torch.optim.Adafactor(model.parameters(), lr=ADAFACTOR_LR, weight_decay=ADAFACTOR_DECAY)
    warm = max(1, round(ADAFACTOR_WARMUP * steps))

    def factor(i: int) -> float:  # i: steps taken so far
        if i < warm:
            return (i + 1) / warm
        return 0.5 * (1 + math.cos(math.pi * min(1.0, (i - warm) / max(1, steps - warm))))

    return opt, torch.optim.lr_scheduler.LambdaLR(opt, factor)


def _amsgrad_rsqrt(model: nn.Module, steps: int) -> tuple[Optimizer, LRScheduler]:
    opt = torch.optim.Adam(model.parameters(), lr=AMSGRAD_LR, amsgrad=True)
    warm = max(1, round(AMSGRAD_WARMUP * steps))

    def factor(i: int) -> float:  # i: steps taken so far
        return (i + 1) / warm if i < warm else (warm / (i + 1)) ** 0.5

    return opt, torch.optim.lr_scheduler.LambdaLR(opt, factor)


def cutmix(x: Tensor, y: Tensor, alpha: float, rng: torch.Generator, draw: random.Random):
    """One box, the same for the whole batch, pasted from a shuffled partner of each image; each
    label mixed with its partner's by the share of the image the box covers."""
    n, _, h, w = x.shape
    side = (1 - draw.betavariate(alpha, alpha)) ** 0.5
    bh, bw = round(h * side), round(w * side)
    cy, cx = draw.randrange(h), draw.randrange(w)
    top, bottom = max(0, cy - bh // 2), min(h, cy + bh - bh // 2)
    left, right = max(0, cx - bw // 2), min(w, cx + bw - bw // 2)
    perm = torch.randperm(n, generator=rng)
    out = x.clone()
    out[:, :, top:bottom, left:right] = x[perm, :, top:bottom, left:right]
    share = (bottom - top) * (right - left) / (h * w)
    return out, (1 - share) * y + share * y[perm]


def mixup(x: Tensor, y: Tensor, alpha: float, rng: torch.Generator, draw: random.Random):
    """Each image and label mixed with a shuffled partner's at one Beta(alpha, alpha) weight."""
    lam = draw.betavariate(alpha, alpha)
    perm = torch.randperm(x.shape[0], generator=rng)
    return lam * x + (1 - lam) * x[perm], lam * y + (1 - lam) * y[perm]


@dataclass(frozen=True)
class Loop:
    """A loop's optimiser and schedule (made per model and planned steps), its label smoothing
    gradient clipping, mixup (alpha; 0: none), random erasing, CutMix (alpha; 0: none) and
    random resized crops, Gaussian pixel noise, rotations, blur and saturation; called with
    `fit`'s signature."""

    optimiser: Callable[[nn.Module, int], tuple[Optimizer, LRScheduler]]
    smoothing: float
    clip: float | None
    mix: float = 0.0
    erasing: bool = False
    cut: float = 0.0
    crop: bool = False
    noise: bool = False
    turn: bool = False
    blurs: bool = False
    saturates: bool = False

    def __call__(
        self,
        model: nn.Module,
        next_batch: Callable[[int], Batch],
        steps: int,
        log: Log,
        *,
        name: str,
        lr: float = 0.0,  # noqa: ARG002 - `fit`'s signature; the loop has its own schedule
        eval_every: int = 250,
        evaluate: Callable[[nn.Module], dict[str, float]] | None = None,
        stop: Callable[[int, dict[str, float]], bool] | None = None,
    ) -> nn.Module:
        """Train `model` (one logit per image) for `steps` steps; returned in eval mode."""
        opt, sched = self.optimiser(model, steps)
        rng = torch.Generator().manual_seed(zlib.crc32(name.encode()))
        draw = random.Random(zlib.crc32(name.encode()))
        model.train()
        t0 = time.time()
        window: list[float] = []  # the training losses a plateau rule has not read yet
        for step in range(1, steps + 1):
            batch = next_batch(step)
            x = augment(batch.x, rng)
            if self.crop:
                x = resized_crop(x, rng)
            if self.noise:
                x = add_noise(x, rng)
            if self.turn:
                x = rotate(x, rng)
            if self.blurs:
                x = blur(x, rng)
            if self.saturates:
                x = saturate(x, rng)
            if self.erasing:
                x = erase(x, rng)
            target = batch.y * (1 - self.smoothing) + 0.5 * self.smoothing
            if self.mix:
                x, target = mixup(x, target, self.mix, rng, draw)
            if self.cut and draw.random() < CUTMIX_P:
                x, target = cutmix(x, target, self.cut, rng, draw)
            loss = F.binary_cross_entropy_with_logits(model(x), target)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if self.clip is not None:
                nn.utils.clip_grad_norm_(model.parameters(), self.clip)
            opt.step()
            if isinstance(sched, torch.optim.lr_scheduler.ReduceLROnPlateau):
                window.append(loss.item())
                if len(window) == PLATEAU_WINDOW:
                    sched.step(sum(window) / len(window))
                    window.clear()
            else:
                sched.step()
            if (step % eval_every == 0 or step == steps) and check(
                model, name, step, steps, loss.item(), t0, log, evaluate, stop
            ):
                break
        return model.eval()


fit_sgd_aug = Loop(_sgd, SMOOTHING, None)
fit_adamw_aug = Loop(_adamw, 0.0, 1.0)
fit_rmsprop_aug = Loop(_rmsprop, 0.1, None)
fit_sgd_mixup = Loop(_sgd_steps, 0.0, None, mix=MIXUP_ALPHA)
fit_adam_erase = Loop(_adam_halving, 0.0, 5.0, erasing=True)
fit_nadam_cutmix = Loop(_nadam_cosine, 0.0, None, cut=CUTMIX_ALPHA)
fit_radam_smooth = Loop(_radam_polynomial, RADAM_SMOOTHING, RADAM_CLIP)
fit_adamax_restarts = Loop(_adamax_restarts, 0.0, None, mix=MIXUP_ALPHA)
fit_adam_plateau = Loop(_adam_plateau, 0.0, None)
fit_adagrad_crop = Loop(_adagrad, 0.0, None, crop=True)
fit_adamw_noise = Loop(_adamw_onecycle, 0.0, None, noise=True)
fit_adadelta_steps = Loop(_adadelta_steps, 0.0, None)
fit_sgd_rotate = Loop(_sgd_exponential, 0.0, None, turn=True)
fit_adafactor_blur = Loop(_adafactor_warmup, 0.0, 1.0, blurs=True)
fit_amsgrad_saturation = Loop(_amsgrad_rsqrt, 0.0, None, saturates=True)
