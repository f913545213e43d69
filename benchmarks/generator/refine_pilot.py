"""Pilot: does a full-resolution head sharpen the generator's small features?

`benchmarks/generator/sharpness.py` found the shipped generator drawing its small features as
the true edit blurred by 0.74-1.34 px where the region goal allows 0.53-0.70 px. The AttGAN
decoder draws the 64 px image with one transposed convolution from 32 px features and never
sees the input's own pixels at 64 px. This pilot adds a small head at full resolution: three
3x3 convolutions over (G's output, the input x, the tiled attributes) whose output is added to
the last layer's pre-tanh values. Its last convolution starts at zero, so step 0 is exactly the
shipped generator. It then fine-tunes everything (or, with --head-only, the head alone) with
the recipe of the region-weighted pilot
(`finetune.py`: lambda_region 4, lr 5e-4 cosine, batches from seed 2), so the two
runs differ only by the head, and logs the goal figures every 500 steps on the same 128
validation faces.

    PYTHONPATH=. nice .venv/bin/python -m benchmarks.generator.refine_pilot [--steps 2000]

Resumable (state every 250 steps in benchmarks/.cache/generator_refine/); log:
docs/logs/generator_refine_pilot.log. No shipped file changes; the head is not part of the
AttGAN format and stays in this pilot until it has earned a place there.
"""

from __future__ import annotations

import argparse
import time

import torch
from torch import Tensor, nn

from benchmarks import paths
from benchmarks.cache_stamp import check_generator
from benchmarks.generator.finetune import VALIDATION_SEED, config, summary
from scripts.training import logger, shipped_generator
from sia_audit.generators.attgan import AttGANGenerator
from sia_audit.generators.checkpoint import load_generator
from sia_audit.generators.training.evaluate import evaluate, held_out
from sia_audit.generators.training.paired import region_loss, sample_batch
from sia_audit.generators.training.state import lr_at, save_state, set_lr

CACHE = paths.CACHE / "generator_refine"
LOG = paths.LOGS / "generator_refine_pilot.log"


class Refined(nn.Module):
    """An AttGAN generator with a residual head at full resolution; same call as the
    generator's, G(x, a) with pixels and attributes in [0, 1]."""

    def __init__(self, g: AttGANGenerator, width: int = 24) -> None:
        super().__init__()
        self.g = g
        self.image_size = g.image_size
        k = len(g.attr_names)
        self.head = nn.Sequential(
            nn.Conv2d(3 + 3 + k, width, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(width, 3, 3, padding=1),
        )
        nn.init.zeros_(self.head[-1].weight)  # type: ignore[arg-type]
        nn.init.zeros_(self.head[-1].bias)  # type: ignore[arg-type]

    def decode(self, zs: tuple[Tensor, ...], x: Tensor, a: Tensor) -> Tensor:
        net = self.g.net
        am = (a * 2 - 1) * self.g.thres_int
        last = net.dec_layers[-1].layers[0]  # the transposed convolution before the tanh
        logits = last(net.decode_features(zs, am))
        tiled = am[:, :, None, None].expand(-1, -1, *x.shape[2:])
        fix = self.head(torch.cat([torch.tanh(logits), x * 2 - 1, tiled], dim=1))
        return (torch.tanh(logits + fix) + 1) / 2

    def forward(self, x: Tensor, a: Tensor) -> Tensor:
        return self.decode(self.g.encode(x), x, a)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=2000)
    parser.add_argument("--width", type=int, default=24)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument(
        "--head-only", action="store_true", help="train the head alone, the generator frozen"
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    check_generator(CACHE)
    log = logger(LOG)
    cfg = config(args.steps, lambda_region=4.0, lr=5e-4)
    mode = "head" if args.head_only else "all"
    state_path = CACHE / f"refine_{mode}_w{args.width}_{args.steps}.state.pt"
    val = held_out(128, cfg.arch.img_size, VALIDATION_SEED)
    gen = torch.Generator().manual_seed(cfg.seed)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(cfg.seed)
        model = Refined(load_generator(shipped_generator()), args.width)
    # load_generator freezes the weights (an audit never trains them); fine-tuning thaws them.
    model.g.requires_grad_(not args.head_only)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr, betas=(cfg.beta1, cfg.beta2))
    start = 0
    if state_path.exists():
        state = torch.load(state_path, weights_only=True)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        gen.set_state(state["rng"])
        start = int(state["step"])
        log(f"generator_refine_pilot: resume at step {start}")
    else:
        extra = sum(p.numel() for p in model.head.parameters())
        log(f"generator_refine_pilot: start; head width {args.width} ({extra} parameters), "
            f"training {'the head alone' if args.head_only else 'the head and the generator'}, "
            f"steps {args.steps}, lambda_region 4, lr 5e-4, threads {args.threads}")  # fmt: skip
        model.eval()
        log(f"step 0 (the shipped generator): {summary(evaluate(model, val))}")  # type: ignore[arg-type]
    t0 = time.time()
    window: list[float] = []
    model.train()
    for step in range(start + 1, args.steps + 1):
        set_lr(opt, lr_at(step - 1, cfg.steps, cfg.lr, cfg.lr_final_frac, cfg.warmup))
        batch = sample_batch(cfg.batch_size, cfg.arch.img_size, gen, cfg)
        n = cfg.batch_size
        zs = model.g.encode(batch.x)
        out = model.decode(
            tuple(torch.cat([z, z]) for z in zs),
            torch.cat([batch.x, batch.x]),
            torch.cat([batch.b, batch.a]),
        )
        err = (out[:n] - batch.truth).abs()
        region = region_loss(err, batch.x, batch.truth)
        loss = err.mean() + cfg.lambda_rec * (out[n:] - batch.x).abs().mean()
        loss = loss + cfg.lambda_region * region
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        window.append(region.item())
        if step % 100 == 0:
            log(f"step {step}/{args.steps} region_l1 {sum(window) / len(window):.4f} "
                f"({(time.time() - t0) / 60:.1f} min)")  # fmt: skip
            window.clear()
        if step % 250 == 0 or step == args.steps:
            save_state(
                state_path,
                {"model": model.state_dict(), "opt": opt.state_dict(),
                 "rng": gen.get_state().clone(), "step": step},
            )  # fmt: skip
        if step % 500 == 0 or step == args.steps:
            model.eval()
            log(f"step {step}: {summary(evaluate(model, val))}")  # type: ignore[arg-type]
            model.train()
    log(f"generator_refine_pilot: done ({(time.time() - t0) / 60:.1f} min this run)")


if __name__ == "__main__":
    main()
