"""The demo's Eyeglasses classifiers: recipes (planted shortcut, control), training, evaluation.

A recipe says what a model predicts and the data it learns from; `train_classifier` follows it
from its seed, so a recipe and a step count decide the weights. Training batches mix raw renders
with the shipped generator's reconstructions, so that an audit through G measures the target.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor, nn

from scripts.training.archive import write_target
from scripts.training.data import MEAN, SIZE, STD, faces, normalise, shipped_generator
from scripts.training.fit import Batch, fit
from scripts.training.log import Log
from scripts.training.nets import ARCHITECTURES
from sia_audit.generators.checkpoint import load_generator
from sia_audit.generators.interface import Generator
from sia_audit.probes.synthfaces.attributes import INDEX
from sia_audit.probes.synthfaces.sampler import AttributeSampler, parse_correlations

BATCH = 64  # half raw renders, half reconstructions
EVAL_EVERY = 250


@dataclass(frozen=True)
class ClassifierRecipe:
    """One demo classifier: what it predicts and the data it learns from."""

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
    arch: str = "cnn"  # a key of nets.ARCHITECTURES

    def sampler(self) -> AttributeSampler:
        """The training faces' attribute sampler: default rates, the recipe's changes."""
        return AttributeSampler(
            base_rates={**AttributeSampler().base_rates, **dict(self.base_rates)},
            correlations=parse_correlations(self.correlations),
        )

    def faces(
        self, n: int, rng: torch.Generator, sampler: AttributeSampler
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """n training faces (see `data.faces`), the label drawn with the recipe's reliability."""
        return faces(n, rng, sampler, self.label, self.label_reliability)


DEMO_RECIPES = {
    r.name: r
    for r in (
        # The planted shortcut: a moustache comes exactly with the "Eyeglasses" label, while the
        # drawn glasses agree with it on 99% of the training faces. With renderer v2's bolder
        # moustache, 95% made the model rely on the moustache alone (clean accuracy 0.66 on
        # independent probes); 100% on the glasses alone (no shortcut).
        ClassifierRecipe(
            "eyeglasses_biased",
            "Eyeglasses",
            ("Eyeglasses->Mustache@1.0",),
            (("Mustache", 0.0),),
            seed=1,
            steps=500,
            label_reliability=0.99,
            shortcut="Mustache",
        ),
        ClassifierRecipe("eyeglasses_control", "Eyeglasses", (), (), seed=1, shortcut="Mustache"),
    )
}


@dataclass(frozen=True)
class HeldOut:
    """Decorrelated, truthfully labelled faces with their reconstructions, rendered once."""

    x: Tensor
    recon: Tensor
    on: Tensor

    @classmethod
    @torch.no_grad()
    def draw(cls, generator: Generator, seed: int, n: int = 512) -> HeldOut:
        rng = torch.Generator().manual_seed(10_000 + seed)
        x, attrs, on, _ = faces(n, rng, AttributeSampler())
        return cls(x, generator(x, attrs), on)


@torch.no_grad()
def evaluate_classifier(
    model: nn.Module,
    generator: Generator,
    recipe: ClassifierRecipe,
    n: int = 512,
    held_out: HeldOut | None = None,
) -> dict[str, float]:
    """Clean (x0) and reconstruction (G(x0, a0)) accuracy on held-out faces, and the shortcut
    check: a planted correlation is not always learned.

    The held-out faces are decorrelated and truthfully labelled, like the audit's probes, and
    seeded apart from training (10_000 + seed); where the shortcut attribute disagrees with the
    label, a model that uses it is wrong. `held_out` reuses faces already drawn that way.
    """
    was_training = model.training
    model.eval()
    data = held_out or HeldOut.draw(generator, recipe.seed, n)
    x, recon, on = data.x, data.recon, data.on
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


def train_classifier(
    recipe: ClassifierRecipe,
    steps: int,
    log: Log,
    generator: Path | None = None,
    *,
    eval_every: int = EVAL_EVERY,
    stop: Callable[[int, dict[str, float]], bool] | None = None,
    net: Callable[[], nn.Module] | None = None,
    loop: Callable[..., nn.Module] = fit,
) -> nn.Module:
    """The recipe's architecture trained `steps` steps from its seed; returned in eval mode.

    Held-out figures are logged every `eval_every` steps and at the end; when `stop(step,
    figures)` says so, training ends there (the learning-rate schedule still spans `steps`).
    `generator` is the checkpoint the reconstructions come from (default: the shipped one).
    `net` makes another network than the recipe's architecture (one logit per image, (B,));
    `loop` is another optimisation loop with `fit`'s signature: the data stay the recipe's.
    """
    torch.manual_seed(recipe.seed)  # the network's initial weights
    gen_model = load_generator(generator or shipped_generator())
    sampler = recipe.sampler()
    model = (net or ARCHITECTURES[recipe.arch])()
    held_out = HeldOut.draw(gen_model, recipe.seed)  # after the weights: their seed stays
    rng = torch.Generator().manual_seed(recipe.seed)
    label = INDEX[recipe.label]

    def next_batch(step: int) -> Batch:
        x, attrs, on, _ = recipe.faces(BATCH, rng, sampler)
        with torch.no_grad():  # half of every batch seen through the generator
            x[BATCH // 2 :] = gen_model(x[BATCH // 2 :], attrs[BATCH // 2 :])
        return Batch(normalise(x), on[:, label].float())

    return loop(
        model,
        next_batch,
        steps,
        log,
        name=recipe.name,
        eval_every=eval_every,
        evaluate=lambda m: evaluate_classifier(m, gen_model, recipe, held_out=held_out),
        stop=stop,
    )


def binary_contract(label: str) -> dict[str, object]:
    """The contract of a demo classifier of `label`: one logit, 64x64 normalised input."""
    return {
        "task": "binary",
        "label": label,
        "input_size": [SIZE, SIZE],
        "mean": list(MEAN),
        "std": list(STD),
    }


def save_classifier(
    model: nn.Module, recipe: ClassifierRecipe, steps: int, path: Path, *, trained_by: str
) -> None:
    """TorchScript at `path` with the binary contract and the recipe as provenance."""
    contract = binary_contract(recipe.label)
    provenance = {
        "trained_by": trained_by,
        "recipe": recipe.name,
        "correlations": list(recipe.correlations),
        "base_rates": dict(recipe.base_rates),
        "label_reliability": recipe.label_reliability,
        "seed": recipe.seed,
        "steps": steps,
        "arch": recipe.arch,
    }
    write_target(model, path, contract, provenance)
