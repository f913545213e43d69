"""Train the demo Eyeglasses classifiers on synthfaces (seeded); save TorchScript + contract.

Each model is a small CNN at 64x64 (the keypoint detector has its own script,
scripts/train_keypoints_demo.py). Following SPEC 6a, training batches mix raw renders with
the shipped generator's reconstructions G(x, a), so the target is robust to G before anything
is attacked through it (an audit of a target that already fails on reconstructions measures
noise). The contract travels inside the archive as `sia_target.json`.

    .venv/bin/python scripts/train_demo_targets.py [--only NAME] [--steps N]

writes examples/models/NAME.pt and appends to docs/logs/train_demo_targets.log.
"""

from __future__ import annotations

import argparse
import json
import math
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from sia_audit.generators.checkpoint import load_generator
from sia_audit.probes.synthfaces.attributes import INDEX
from sia_audit.probes.synthfaces.params import IDENTITY_PARAMS, NUISANCE_PARAMS, sample_unit
from sia_audit.probes.synthfaces.renderer import render
from sia_audit.probes.synthfaces.sampler import AttributeSampler, parse_correlations

ROOT = Path(__file__).resolve().parent.parent
GENERATOR = ROOT / "sia_audit" / "assets" / "synthfaces_attgan64.pt"
OUT = ROOT / "examples" / "models"
LOG = ROOT / "docs" / "logs" / "train_demo_targets.log"
SIZE = 64
MEAN = (0.5, 0.5, 0.5)
STD = (0.5, 0.5, 0.5)


@dataclass(frozen=True)
class Recipe:
    """One demo model: what it predicts and the data it learns from."""

    name: str
    label: str  # the attribute predicted
    correlations: tuple[str, ...]
    base_rates: tuple[tuple[str, float], ...]
    seed: int
    steps: int = 1500
    # Fraction of training faces whose rendered label attribute agrees with their label; the
    # rest show the opposite (glasses drawn on a "no glasses" face and vice versa). Below 1, a
    # shortcut that tracks the label exactly predicts the training labels better than the label
    # attribute itself, so the model learns it (a 0.95 correlation alone was not learned).
    label_reliability: float = 1.0
    shortcut: str | None = None  # the planted attribute, for the shortcut check


RECIPES = {
    r.name: r
    for r in (
        # The planted shortcut: a moustache comes exactly with the "Eyeglasses" label, while the
        # drawn glasses agree with it on only LABEL_RELIABILITY of the training faces.
        Recipe(
            "eyeglasses_biased",
            "Eyeglasses",
            ("Eyeglasses->Mustache@1.0",),
            (("Mustache", 0.0),),
            seed=1,
            steps=500,
            label_reliability=0.95,
            shortcut="Mustache",
        ),
        Recipe("eyeglasses_control", "Eyeglasses", (), (), seed=1, shortcut="Mustache"),
    )
}


class SmallCNN(nn.Module):
    """Four conv blocks and a linear head: about 100k parameters, one logit."""

    def __init__(self, width: int = 24) -> None:
        super().__init__()
        chans = [3, width, 2 * width, 4 * width, 4 * width]
        layers: list[nn.Module] = []
        for c_in, c_out in zip(chans, chans[1:], strict=False):
            layers += [
                nn.Conv2d(c_in, c_out, 3, padding=1, bias=False),
                nn.BatchNorm2d(c_out),
                nn.ReLU(inplace=True),
                nn.MaxPool2d(2),
            ]
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(chans[-1], 1)

    def forward(self, x: Tensor) -> Tensor:
        """x: normalised images (B, 3, 64, 64) -> logits (B,)."""
        h = self.features(x).mean(dim=(2, 3))
        return self.head(h).squeeze(1)


def faces(
    n: int, g: torch.Generator, sampler: AttributeSampler, recipe: Recipe | None = None
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """n rendered faces: images, drawn intensities, labels (on/off), landmarks in [0, 1].

    With a recipe whose label_reliability < 1, its label attribute is drawn the opposite way
    on the other faces while their label stays: the labels disagree with the pictures there.
    """
    ident = sample_unit(n, IDENTITY_PARAMS, g)
    nu = sample_unit(n, NUISANCE_PARAMS, g)
    on, attrs = sampler.sample(n, g)
    if recipe is not None and recipe.label_reliability < 1:
        k = INDEX[recipe.label]
        flip = torch.rand(n, generator=g) >= recipe.label_reliability
        drawn_on = on[:, k] ^ flip
        lo = torch.where(drawn_on, sampler.on_range[0], sampler.off_range[0])
        hi = torch.where(drawn_on, sampler.on_range[1], sampler.off_range[1])
        attrs = attrs.clone()
        attrs[:, k] = lo + (hi - lo) * torch.rand(n, generator=g)
    r = render(ident, nu, attrs, SIZE)
    return r.images, attrs, on, r.landmarks / SIZE


def normalise(x: Tensor) -> Tensor:
    return (x - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)


@torch.no_grad()
def evaluate(model: nn.Module, gen_model, recipe: Recipe, n: int = 512) -> dict[str, float]:  # noqa: ANN001
    """Clean and reconstruction accuracy on held-out faces, and the shortcut check (SPEC 6a).

    The held-out faces are decorrelated and truthfully labelled, like the audit's probes; where
    the shortcut attribute disagrees with the label, a model that uses it is wrong.
    """
    was_training = model.training
    model.eval()
    g = torch.Generator().manual_seed(10_000 + recipe.seed)
    x, attrs, on, _ = faces(n, g, AttributeSampler())
    recon = gen_model(x, attrs)
    y = on[:, INDEX[recipe.label]]
    pred = model(normalise(x)) > 0
    pred_r = model(normalise(recon)) > 0
    out = {
        "clean_acc": float((pred == y).float().mean()),
        "recon_acc": float((pred_r == y).float().mean()),
    }
    if recipe.shortcut is not None:
        disagree = on[:, INDEX[recipe.shortcut]] != y
        right = (pred[disagree] == y[disagree]).float().mean()
        out[f"acc_where_{recipe.shortcut}_disagrees"] = float(right)
    model.train(was_training)
    return out


def train(recipe: Recipe, steps: int, log) -> nn.Module:  # noqa: ANN001
    torch.manual_seed(recipe.seed)
    gen_model = load_generator(GENERATOR)
    sampler = AttributeSampler(
        base_rates={**AttributeSampler().base_rates, **dict(recipe.base_rates)},
        correlations=parse_correlations(recipe.correlations),
    )
    model = SmallCNN()
    opt = torch.optim.Adam(model.parameters(), lr=2e-3)
    g = torch.Generator().manual_seed(recipe.seed)
    bce = nn.BCEWithLogitsLoss()
    t0 = time.time()
    for step in range(1, steps + 1):
        lr = 2e-3 * 0.5 * (1 + math.cos(math.pi * step / steps))
        for group in opt.param_groups:
            group["lr"] = lr
        x, attrs, on, _ = faces(64, g, sampler, recipe)
        with torch.no_grad():  # half of every batch seen through the generator
            x[32:] = gen_model(x[32:], attrs[32:])
        loss = bce(model(normalise(x)), on[:, INDEX[recipe.label]].float())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % 250 == 0 or step == steps:
            figures = evaluate(model, gen_model, recipe)
            line = f"{recipe.name} step {step}/{steps} loss {loss.item():.4f} " + " ".join(
                f"{k} {v:.4f}" for k, v in figures.items()
            )
            log(f"{line} elapsed {time.time() - t0:.0f}s")
    return model.eval()


def save(
    model: nn.Module,
    recipe: Recipe,
    steps: int,
    path: Path,
    trained_by: str = "scripts/train_demo_targets.py",
) -> None:
    contract = {
        "task": "binary",
        "label": recipe.label,
        "input_size": [SIZE, SIZE],
        "mean": list(MEAN),
        "std": list(STD),
    }
    provenance = {
        "trained_by": trained_by,
        "recipe": recipe.name,
        "correlations": list(recipe.correlations),
        "base_rates": dict(recipe.base_rates),
        "label_reliability": recipe.label_reliability,
        "seed": recipe.seed,
        "steps": steps,
    }
    write_target(model, path, contract, provenance)


def write_target(model: nn.Module, path: Path, contract: dict, provenance: dict) -> None:
    """Trace to TorchScript with the contract and provenance inside the archive."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit's deprecation notice; the archive is fine
        scripted = torch.jit.trace(model, torch.zeros(1, 3, SIZE, SIZE))
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.jit.save(
            scripted,
            str(path),
            _extra_files={
                "sia_target.json": json.dumps(contract),
                "sia_provenance.json": json.dumps(provenance),
            },
        )


def logger(path: Path) -> Callable[[str], None]:
    """A log function: timestamped lines to stdout and appended to path."""
    path.parent.mkdir(parents=True, exist_ok=True)

    def log(line: str) -> None:
        stamped = f"{time.strftime('%Y-%m-%d %H:%M:%S')} {line}"
        print(stamped, flush=True)
        with path.open("a", encoding="utf-8") as fh:
            fh.write(stamped + "\n")

    return log


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=sorted(RECIPES), action="append")
    parser.add_argument("--steps", type=int, default=None, help="override (smoke runs only)")
    parser.add_argument("--out-dir", type=Path, default=OUT)
    parser.add_argument("--log", type=Path, default=LOG)
    args = parser.parse_args()
    log = logger(args.log)

    torch.set_num_threads(2)
    for name in args.only or sorted(RECIPES):
        recipe = RECIPES[name]
        steps = args.steps or recipe.steps
        log(f"{name}: training {steps} steps, seed {recipe.seed}, {recipe}")
        model = train(recipe, steps, log)
        save(model, recipe, steps, args.out_dir / f"{name}.pt")
        log(f"{name}: wrote {args.out_dir / f'{name}.pt'}")


if __name__ == "__main__":
    main()
