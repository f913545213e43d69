"""Train the shipped synthfaces attribute classifier (seeded) that judges a generator's edits.

A small CNN at 64 px with one logit per attribute, trained on fresh renders against the
attributes' intensities (BCE with soft targets, so its 0.5 line is the renderer's half-way
look). Half of each batch is blurred and noised: the classifier judges generator outputs, which
are softer than renders, and must not read softness as an attribute. The editability check
uses it for the embedded default; its own check against the renderer's truth is in
every synthfaces report.

    PYTHONPATH=. .venv/bin/python scripts/train_attribute_classifier.py

writes sia_audit/assets/synthfaces_attributes64.pt and docs/logs/train_attribute_classifier.log.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import time
import warnings
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from sia_audit.generators.classifiers import CLASSIFIER_FILE, SHIPPED_CLASSIFIER
from sia_audit.probes.synthfaces.attributes import ATTRIBUTES
from sia_audit.probes.synthfaces.params import (
    IDENTITY_PARAMS,
    NUISANCE_PARAMS,
    RENDERER_VERSION,
    sample_unit,
)
from sia_audit.probes.synthfaces.renderer import render
from sia_audit.probes.synthfaces.sampler import AttributeSampler

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "sia_audit" / "assets" / SHIPPED_CLASSIFIER
LOG = ROOT / "docs" / "logs" / "train_attribute_classifier.log"
SIZE = 64
SEED = 7
STEPS = 3000
BATCH = 64
LR = 2e-3
UNIFORM_FRAC = 0.3  # rows with uniform random intensities: intermediate looks are seen too
VALIDATION_SEED = 20_261_130  # held-out faces, never a training seed


class AttributeNet(nn.Module):
    """Four stride-2 conv blocks (64 -> 4 px), then one linear layer: 15 logits."""

    def __init__(self, k: int = len(ATTRIBUTES), width: int = 32) -> None:
        super().__init__()
        layers: list[nn.Module] = []
        c_in = 3
        for c_out in (width, 2 * width, 4 * width, 4 * width):
            layers += [
                nn.Conv2d(c_in, c_out, 3, stride=2, padding=1),
                nn.BatchNorm2d(c_out),
                nn.ReLU(),
                nn.Conv2d(c_out, c_out, 3, padding=1),
                nn.BatchNorm2d(c_out),
                nn.ReLU(),
            ]
            c_in = c_out
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(c_in * 16, k)

    def forward(self, x: Tensor) -> Tensor:
        return self.head(self.features(x).flatten(1))


def faces(n: int, gen: torch.Generator) -> tuple[Tensor, Tensor]:
    """Renders (n, 3, 64, 64) and their intensities (n, 15)."""
    identity = sample_unit(n, IDENTITY_PARAMS, gen)
    nuisance = sample_unit(n, NUISANCE_PARAMS, gen)
    _, a = AttributeSampler().sample(n, gen)
    uniform = torch.rand(a.shape, generator=gen)
    a = torch.where(torch.rand((n, 1), generator=gen) < UNIFORM_FRAC, uniform, a)
    return render(identity, nuisance, a, SIZE).images, a


def soften(x: Tensor, gen: torch.Generator) -> Tensor:
    """A Gaussian blur of random width (sigma 0.3-1.2 px) and a little noise, per image."""
    n = x.shape[0]
    sigma = 0.3 + 0.9 * torch.rand(n, generator=gen)
    r = torch.arange(-2, 3, dtype=torch.float32)
    k1 = torch.exp(-(r.view(1, -1) ** 2) / (2 * sigma.view(-1, 1) ** 2))
    k1 = k1 / k1.sum(dim=1, keepdim=True)  # (n, 5)
    k2 = (k1.unsqueeze(2) * k1.unsqueeze(1)).repeat_interleave(3, dim=0).unsqueeze(1)
    y = F.conv2d(F.pad(x, (2, 2, 2, 2), mode="replicate").view(1, n * 3, SIZE + 4, SIZE + 4), k2,
                 groups=n * 3).view(n, 3, SIZE, SIZE)  # fmt: skip
    noise = torch.randn(y.shape, generator=gen) * 0.02 * torch.rand((n, 1, 1, 1), generator=gen)
    return (y + noise).clamp(0, 1)


@torch.no_grad()
def side_accuracy(net: nn.Module, x: Tensor, a: Tensor) -> Tensor:
    """Per attribute: fraction of faces where sigmoid(logit) >= 0.5 iff intensity >= 0.5."""
    was_training = net.training
    net.eval()
    p = torch.sigmoid(torch.cat([net(x[i : i + 256]) for i in range(0, len(x), 256)]))
    net.train(was_training)  # restore the mode it found: the final trace must be in eval mode
    return ((p >= 0.5) == (a >= 0.5)).float().mean(dim=0)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--steps", type=int, default=STEPS)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--log", type=Path, default=LOG)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    args.log.parent.mkdir(parents=True, exist_ok=True)
    log = args.log.open("w", encoding="utf-8")

    def say(line: str) -> None:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
        for sink in (log, None):
            print(f"{stamp} {line}", file=sink, flush=True)

    say(f"training {args.steps} steps, batch {BATCH}, lr {LR}, seed {SEED}, threads "
        f"{torch.get_num_threads()}, renderer version {RENDERER_VERSION}")  # fmt: skip
    val_gen = torch.Generator().manual_seed(VALIDATION_SEED)
    identity = sample_unit(1024, IDENTITY_PARAMS, val_gen)
    nuisance = sample_unit(1024, NUISANCE_PARAMS, val_gen)
    _, val_a = AttributeSampler().sample(1024, val_gen)
    val_x = render(identity, nuisance, val_a, SIZE).images
    val_soft = soften(val_x, val_gen)

    torch.manual_seed(SEED)
    gen = torch.Generator().manual_seed(SEED)
    net = AttributeNet()
    opt = torch.optim.Adam(net.parameters(), lr=LR)
    t0 = time.time()
    for step in range(1, args.steps + 1):
        lr = LR * 0.5 * (1 + math.cos(math.pi * (step - 1) / args.steps))
        for group in opt.param_groups:
            group["lr"] = lr
        x, a = faces(BATCH, gen)
        half = BATCH // 2
        x = torch.cat([x[:half], soften(x[half:], gen)])
        loss = F.binary_cross_entropy_with_logits(net(x), a)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % 250 == 0 or step == args.steps:
            acc, soft = side_accuracy(net, val_x, val_a), side_accuracy(net, val_soft, val_a)
            say(f"step {step}/{args.steps} loss {loss.item():.4f} held-out side accuracy: renders "
                f"min {acc.min():.4f} mean {acc.mean():.4f}, softened min {soft.min():.4f} "
                f"mean {soft.mean():.4f}, elapsed {time.time() - t0:.0f}s")  # fmt: skip
    net.eval()
    acc, soft = side_accuracy(net, val_x, val_a), side_accuracy(net, val_soft, val_a)
    for name, r, s in zip(ATTRIBUTES, acc.tolist(), soft.tolist(), strict=True):
        say(f"held-out 1024 faces: {name:20s} renders {r:.4f} softened {s:.4f}")
    meta = {
        "attributes": list(ATTRIBUTES),
        "input_size": [SIZE, SIZE],
        "mean": [0.0, 0.0, 0.0],
        "std": [1.0, 1.0, 1.0],
        "renderer_version": RENDERER_VERSION,
        "script": "scripts/train_attribute_classifier.py",
        "seed": SEED,
        "steps": args.steps,
    }
    assert not net.training, "trace in eval mode: BatchNorm must use its running statistics"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit's deprecation notice
        scripted = torch.jit.trace(net, torch.rand(2, 3, SIZE, SIZE))
        torch.jit.save(scripted, str(args.out), _extra_files={CLASSIFIER_FILE: json.dumps(meta)})
    say(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB), {time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()
