"""The paper's Table 6 on synthfaces: learning from a 1:99 imbalanced training set.

For each label (Eyeglasses and Bangs, as in the paper) one training set of N_TRAIN rendered
faces holds exactly 1% positives; every other attribute is drawn independently at its default
rate. It is written as a CelebA-format folder, the form a user's own data has. A SmallCNN is
trained from scratch (the package's `fit` loop, the same steps and learning rate for every arm)
under each strategy, for each of SEEDS (initial weights, batch order, augmentation draws):

- `none`: uniform batches;
- `reweight`: uniform batches, per-image loss weights N / (2 n_class) ("balanced");
- `resample`: each batch image from either class with probability 1/2 (the minority duplicated
  until the classes are even);
- `autoaugment`: uniform batches through torchvision's AutoAugment (ImageNet policy);
- `cutmix`: uniform batches; with probability 1/2 a batch goes through torchvision's v2.CutMix
  (alpha 1), the label mixed by area;
- `sia`: the training set plus PER_IMAGE SIA adversaries of every positive training image,
  made by `sia-audit generate --source TRAIN --where LABEL=1 --per-image K` against that
  seed's `none` model with the attack of policies/fairness.yaml, labelled positive;
- `sia+reweight`: the same augmented set with balanced loss weights.

Two more arms explain what the SIA arm does. `recon` separates the attack from the generator:
the training set plus PER_IMAGE reconstructions G(x0, a0) of every positive (no attack: the
same images K times), labelled positive. `sia-frozen` is `sia` with the attributes that can
hide the label (OCCLUDERS: Bald for Bangs) frozen too.

Every model is scored on a balanced test set (N_TEST positives and N_TEST negatives, drawn
from another seed): precision, recall, accuracy, each as mean and spread over the seeds.

    PYTHONPATH=. nice .venv/bin/python -m benchmarks.paper.imbalanced [--label Bangs]
    PYTHONPATH=. .venv/bin/python -m benchmarks.paper.imbalanced --report-only

Cached and resumable in benchmarks/.cache/paper/imbalanced/ (training folders, models,
adversaries, one JSON per trained model). Log: docs/logs/paper_imbalanced.log; plot:
docs/paper-imbalanced.png; a few SIA adversaries: docs/paper-imbalanced-adversaries.png; the
table goes to stdout and the cache's table6.md.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import Tensor
from torchvision.transforms import AutoAugment, AutoAugmentPolicy, v2

from benchmarks import paths
from benchmarks.cache_stamp import check_generator
from benchmarks.validity.plots import BarGroup, Interval, bar_chart
from scripts.training import (
    SIZE,
    Batch,
    Log,
    SmallCNN,
    binary_contract,
    faces,
    fit,
    logger,
    normalise,
    shipped_generator,
    write_target,
)
from sia_audit.app.generate import PROVENANCE_FILE, GenerateRequest, generate, read_labels
from sia_audit.fsutil import atomic_dir, atomic_write_text
from sia_audit.generators.checkpoint import load_generator
from sia_audit.probes.celeba_files import IMAGE_DIR
from sia_audit.probes.celeba_writer import CelebAWriter
from sia_audit.probes.synthfaces.attributes import ATTRIBUTES
from sia_audit.probes.synthfaces.sampler import AttributeSampler

CACHE = paths.CACHE / "paper" / "imbalanced"
LOG = paths.LOGS / "paper_imbalanced.log"
PLOT = paths.ROOT / "docs" / "paper-imbalanced.png"
SHEET = paths.ROOT / "docs" / "paper-imbalanced-adversaries.png"
POLICY = paths.ROOT / "policies" / "fairness.yaml"  # its attack; generate ignores gates and probes
LABELS = ("Eyeglasses", "Bangs")
N_TRAIN = 8000
POSITIVES = 80  # 1%
N_TEST = 1000  # per class
DATA_SEED = {"Eyeglasses": 600, "Bangs": 601}  # the test set uses DATA_SEED + 50
SEEDS = (0, 1, 2)
STEPS = 500
BATCH = 64
PER_IMAGE = 8  # adversaries (or reconstructions) per positive training image
STRATEGIES = (
    "none",
    "reweight",
    "resample",
    "autoaugment",
    "cutmix",
    "sia",
    "sia+reweight",
    "recon",
    "sia-frozen",
)
# Attributes whose change can erase the label from the picture: a bald head shows no bangs.
# SIA freezes only the target's own label; the `sia-frozen` arm also freezes these (radius 0
# in the policy), as a user augmenting that class would. Labels without any skip the arm.
OCCLUDERS = {"Eyeglasses": (), "Bangs": ("Bald",)}
# The paper's Table 6 (ResNet-50 on CelebA): precision, recall, accuracy %.
PAPER = {
    "Eyeglasses": {
        "none": (0.9985, 0.8052, 90.20),
        "reweight": (0.9995, 0.8368, 91.82),
        "resample": (0.9984, 0.7700, 88.44),
        "cutmix": (0.9963, 0.3236, 66.12),
        "autoaugment": (0.9975, 0.8004, 89.92),
        "sia": (0.9991, 0.8864, 94.28),
        "sia+reweight": (0.9991, 0.8856, 94.24),
    },
    "Bangs": {
        "none": (0.9847, 0.2576, 62.68),
        "reweight": (0.9912, 0.2708, 63.42),
        "resample": (0.9935, 0.1840, 59.14),
        "cutmix": (1.0000, 0.0000, 50.00),
        "autoaugment": (0.9701, 0.0260, 51.26),
        "sia": (0.9791, 0.4116, 70.14),
        "sia+reweight": (0.9854, 0.5960, 79.36),
    },
}


def _draw(n: int, rng: torch.Generator, label: str, on: bool) -> tuple[Tensor, Tensor, Tensor]:
    """n faces with `label` on (or off), all else at default rates: uint8 images, attrs, lms."""
    sampler = AttributeSampler(base_rates={**AttributeSampler().base_rates, label: float(on)})
    x, attrs, _, landmarks = faces(n, rng, sampler)
    return (x * 255).round().to(torch.uint8), attrs, landmarks


def training_set(label: str, log: Log) -> tuple[Path, dict[str, Tensor]]:
    """The imbalanced training folder (written once) and its images (x, uint8), labels (y)
    and attribute intensities (attrs)."""
    folder = CACHE / label / "train"
    arrays = CACHE / label / "train.pt"
    if not arrays.exists():
        rng = torch.Generator().manual_seed(DATA_SEED[label])
        pos = _draw(POSITIVES, rng, label, True)
        neg = _draw(N_TRAIN - POSITIVES, rng, label, False)
        order = torch.randperm(N_TRAIN, generator=rng)
        x, attrs, lms = (torch.cat([p, q])[order] for p, q in zip(pos, neg, strict=True))
        y = (torch.arange(N_TRAIN) < POSITIVES)[order]
        if folder.exists():  # a stopped run left a folder without its arrays: redo both
            shutil.rmtree(folder)
        with atomic_dir(folder) as tmp, CelebAWriter(tmp, ATTRIBUTES) as writer:
            writer.add(
                x.permute(0, 2, 3, 1).numpy(),
                attrs.numpy(),
                np.zeros(N_TRAIN, dtype=np.int64),  # every image in the train split
                (lms * SIZE).numpy(),
            )
        torch.save({"x": x, "y": y, "attrs": attrs}, arrays)
        log(f"{label}: training folder {folder}, {int(y.sum())} of {N_TRAIN}")
    return folder, torch.load(arrays)


def test_set(label: str) -> tuple[Tensor, Tensor]:
    """N_TEST positives then N_TEST negatives (uint8), from DATA_SEED + 50."""
    path = CACHE / label / "test.pt"
    if not path.exists():
        rng = torch.Generator().manual_seed(DATA_SEED[label] + 50)
        x = torch.cat([_draw(N_TEST, rng, label, True)[0], _draw(N_TEST, rng, label, False)[0]])
        y = torch.arange(2 * N_TEST) < N_TEST
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"x": x, "y": y}, path)
    data = torch.load(path)
    return data["x"], data["y"]


def to_input(x: Tensor) -> Tensor:
    return normalise(x.float() / 255)


@torch.no_grad()
def scores(model: torch.nn.Module, x: Tensor, y: Tensor) -> dict[str, float]:
    """Precision, recall and accuracy at logit 0 (an empty positive prediction: precision 1)."""
    pred = torch.cat([model(to_input(x[i : i + 500])) > 0 for i in range(0, len(x), 500)])
    tp = int((pred & y).sum())
    predicted = int(pred.sum())
    return {
        "precision": tp / predicted if predicted else 1.0,
        "recall": tp / int(y.sum()),
        "accuracy": float((pred == y).float().mean()),
    }


def balanced_weights(y: Tensor) -> Tensor:
    """N / (2 n_class) per image: each class carries half of the loss."""
    n, pos = len(y), int(y.sum())
    return torch.where(y, n / (2 * pos), n / (2 * (n - pos)))


def batches(strategy: str, x: Tensor, y: Tensor, seed: int) -> Callable[[int], Batch]:
    """next_batch(step) for `fit`: the strategy's sampling, weights and augmentation."""
    rng = torch.Generator().manual_seed(1000 + seed)
    weights = balanced_weights(y) if strategy.endswith("reweight") else None
    pos_idx, neg_idx = torch.nonzero(y).flatten(), torch.nonzero(~y).flatten()
    auto = AutoAugment(AutoAugmentPolicy.IMAGENET)
    cutmix = v2.CutMix(num_classes=2, alpha=1.0)

    def next_batch(step: int) -> Batch:
        if strategy == "resample":
            pick_pos = torch.rand(BATCH, generator=rng) < 0.5
            i_pos = pos_idx[torch.randint(len(pos_idx), (BATCH,), generator=rng)]
            i_neg = neg_idx[torch.randint(len(neg_idx), (BATCH,), generator=rng)]
            idx = torch.where(pick_pos, i_pos, i_neg)
        else:
            idx = torch.randint(len(y), (BATCH,), generator=rng)
        images, labels = x[idx], y[idx]
        if strategy == "autoaugment":  # torch's global RNG, seeded by train()
            images = torch.stack([auto(im) for im in images])
        inputs, targets = to_input(images), labels.float()
        if strategy == "cutmix" and float(torch.rand(1, generator=rng)) < 0.5:
            inputs, mixed = cutmix(inputs, labels.long())
            targets = mixed[:, 1]
        return Batch(inputs, targets, None if weights is None else weights[idx])

    return next_batch


def train(
    strategy: str, x: Tensor, y: Tensor, seed: int, test: tuple[Tensor, Tensor], log: Log
) -> torch.nn.Module:
    torch.manual_seed(seed)  # initial weights, then AutoAugment's and CutMix's draws
    model = SmallCNN()
    return fit(
        model,
        batches(strategy, x, y, seed),
        STEPS,
        log,
        name=f"{y.shape[0]} images {strategy} seed {seed}",
        eval_every=STEPS // 2,
        evaluate=lambda m: scores(m.eval(), *test),
    )


def save_model(model: torch.nn.Module, label: str, seed: int, path: Path) -> None:
    provenance = {
        "trained_by": "benchmarks/paper/imbalanced.py",
        "strategy": "none",
        "seed": seed,
        "steps": STEPS,
    }
    write_target(model, path, binary_contract(label), provenance)


def frozen_policy(label: str) -> Path:
    """policies/fairness.yaml with the label's OCCLUDERS at radius 0 (written once)."""
    path = CACHE / label / "policy-frozen.yaml"
    if not path.exists():
        text = POLICY.read_text(encoding="utf-8")
        radii = ", ".join(f"{a}: 0" for a in OCCLUDERS[label])
        old = "  batch_size: 32\n"
        assert text.count(old) == 1, "policies/fairness.yaml's attack section changed"
        atomic_write_text(path, text.replace(old, f"{old}  radii: {{{radii}}}\n"))
    return path


def adversaries(
    label: str, seed: int, folder: Path, log: Log, frozen: bool = False
) -> tuple[Tensor, Tensor]:
    """PER_IMAGE SIA adversaries of each positive training image against seed's `none` model,
    through `generate` (as a user would run it), with the labels it writes; `frozen`: with
    the label's OCCLUDERS frozen too."""
    out = CACHE / label / f"sia{'-frozen' if frozen else ''}_seed{seed}"
    if not out.exists():
        summary = generate(
            GenerateRequest(
                target=str(CACHE / label / f"none_seed{seed}.pt"),
                policy_path=frozen_policy(label) if frozen else POLICY,
                out=out,
                device="cpu",
                source=folder,
                split="train",
                where=(f"{label}=1",),
                per_image=PER_IMAGE,
            )
        )
        log(
            f"{label} seed {seed}: {summary.count} SIA adversaries"
            f"{' (' + ', '.join(OCCLUDERS[label]) + ' frozen)' if frozen else ''} in "
            f"{summary.seconds:.0f} s; "
            f"{summary.flipped} of {summary.right_on_x0} right on x0 flipped"
        )
    labels = read_labels(out)
    names = sorted(labels)
    images = [np.asarray(Image.open(out / IMAGE_DIR / n).convert("RGB")) for n in names]
    x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).contiguous()
    return x, torch.tensor([labels[n] == 1 for n in names])


@torch.no_grad()
def reconstructions(label: str, data: dict[str, Tensor]) -> tuple[Tensor, Tensor]:
    """G(x0, a0) of each positive training image, PER_IMAGE times (the attack left out)."""
    path = CACHE / label / "recon.pt"
    if not path.exists():
        generator = load_generator(shipped_generator()).eval()
        assert tuple(generator.attr_names) == ATTRIBUTES, "the renderer's attribute order"
        pos = torch.nonzero(data["y"]).flatten()
        recon = generator(data["x"][pos].float() / 255, data["attrs"][pos])
        torch.save((recon * 255).round().clamp(0, 255).to(torch.uint8), path)
    recon = torch.load(path)
    return recon.repeat(PER_IMAGE, 1, 1, 1), torch.ones(len(recon) * PER_IMAGE, dtype=torch.bool)


def training_data(
    strategy: str, label: str, seed: int, folder: Path, data: dict[str, Tensor], log: Log
) -> tuple[Tensor, Tensor]:
    """The images and labels a strategy trains on: the training set, plus its extra images."""
    x, y = data["x"], data["y"]
    if strategy.startswith("sia"):
        ax, ay = adversaries(label, seed, folder, log, frozen=strategy == "sia-frozen")
    elif strategy == "recon":
        ax, ay = reconstructions(label, data)
    else:
        return x, y
    return torch.cat([x, ax]), torch.cat([y, ay])


def run_one(label: str, strategy: str, seed: int, folder: Path, data: dict, log: Log) -> dict:
    path = CACHE / "results" / f"{label}_{strategy}_seed{seed}.json"
    if path.exists():
        return json.loads(path.read_text())
    x, y = training_data(strategy, label, seed, folder, data, log)
    t0 = time.time()
    model = train(strategy, x, y, seed, test_set(label), log)
    result = {
        "label": label,
        "strategy": strategy,
        "seed": seed,
        "images": len(y),
        "positives": int(y.sum()),
        "steps": STEPS,
        "train_seconds": round(time.time() - t0, 1),
        **scores(model, *test_set(label)),
    }
    if strategy == "none":  # the target the SIA adversaries are made against
        save_model(model, label, seed, CACHE / label / f"none_seed{seed}.pt")
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(result, indent=1) + "\n")
    log(
        f"{label} {strategy} seed {seed}: precision {result['precision']:.4f} recall "
        f"{result['recall']:.4f} accuracy {result['accuracy']:.4f} ({len(y)} images, "
        f"{result['positives']} positive, {result['train_seconds']:.0f} s)"
    )
    return result


def cached_results() -> list[dict]:
    folder = CACHE / "results"
    return (
        [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]
        if folder.exists()
        else []
    )


def spread(values: list[float]) -> tuple[float, float]:
    return statistics.fmean(values), statistics.stdev(values) if len(values) > 1 else 0.0


def summarise(results: list[dict]) -> dict[str, dict[str, dict[str, list[float]]]]:
    """{label: {strategy: {figure: [value per seed]}}} in the order of LABELS and STRATEGIES."""
    out: dict = {}
    for label in LABELS:
        for strategy in STRATEGIES:
            rows = sorted(
                (r for r in results if r["label"] == label and r["strategy"] == strategy),
                key=lambda r: r["seed"],
            )
            if rows:
                out.setdefault(label, {})[strategy] = {
                    f: [r[f] for r in rows] for f in ("seed", "precision", "recall", "accuracy")
                }
    return out


def table(summary: dict) -> list[str]:
    lines = [
        "| label | strategy | seeds | precision | recall | accuracy % "
        "| paper: precision / recall / accuracy % |",
        "|---|---|---|---|---|---|---|",
    ]
    for label, per in summary.items():
        for strategy, f in per.items():
            p, r, a = (spread(f[k]) for k in ("precision", "recall", "accuracy"))
            paper = PAPER[label].get(strategy)
            ref = (
                f"{paper[0]:.4f} / {paper[1]:.4f} / {paper[2]:.2f}"
                if paper
                else "(not in the paper)"
            )
            lines.append(
                f"| {label} | {strategy} | {len(f['accuracy'])} | {p[0]:.4f} ± {p[1]:.4f} "
                f"| {r[0]:.4f} ± {r[1]:.4f} | {100 * a[0]:.2f} ± {100 * a[1]:.2f} | {ref} |"
            )
    return lines


def ordering(summary: dict) -> list[str]:
    """The paper's claim per label: SIA and SIA+reweight above every other strategy (mean
    accuracy over seeds), and by how much in seed spreads."""
    lines = []
    for label, per in summary.items():
        acc = {s: spread(f["accuracy"]) for s, f in per.items() if s != "recon"}
        others = {s: v for s, v in acc.items() if not s.startswith("sia")}
        if not others:
            continue
        best_other = max(others, key=lambda s: others[s][0])
        for s in ("sia", "sia+reweight", "sia-frozen"):
            if s in acc:
                gap = acc[s][0] - others[best_other][0]
                verdict = "holds" if gap > 0 else "does not hold"
                lines.append(
                    f"- {label}: {s} {100 * acc[s][0]:.2f}% vs the best other strategy "
                    f"({best_other}) {100 * others[best_other][0]:.2f}%: {verdict} "
                    f"(gap {100 * gap:+.2f} points; seed sd {100 * acc[s][1]:.2f} and "
                    f"{100 * others[best_other][1]:.2f})"
                )
        for s, base in (("sia", "none"), ("sia", "recon"), ("sia-frozen", "sia")):
            if s in per and base in per:
                lines.append(
                    f"- {label}: {s} - {base}, accuracy by seed: {paired(per[s], per[base])}"
                )
    return lines


def paired(head: dict[str, list], base: dict[str, list]) -> str:
    """Accuracy differences in points on the seeds both arms have."""
    b = dict(zip(base["seed"], base["accuracy"], strict=True))
    diffs = [
        (seed, 100 * (a - b[seed]))
        for seed, a in zip(head["seed"], head["accuracy"], strict=True)
        if seed in b
    ]
    return ", ".join(f"seed {seed} {d:+.2f}" for seed, d in diffs)


def plot(summary: dict) -> None:
    """PLOT: accuracy and recall per strategy, one panel per label; only the strategies every
    label has (sia-frozen, Bangs only, is in the table)."""
    rows = tuple(s for s in STRATEGIES if all(s in per for per in summary.values()))
    series = ("accuracy", "recall")
    panels = []
    for label, per in summary.items():
        values = tuple(
            tuple(
                Interval(statistics.fmean(per[s][f]), min(per[s][f]), max(per[s][f])) for s in rows
            )
            for f in series
        )
        dots = tuple(tuple(tuple(per[s][f]) for s in rows) for f in series)
        panels.append(BarGroup(label, rows, series, values, dots))
    bar_chart(
        panels,
        PLOT,
        "Table 6 on synthfaces: 1:99 training set, balanced test set",
        note="bar: mean over seeds; whisker: min-max; dots: each seed",
    )


def adversary_sheet(rows_per_label: int = 4, scale: int = 2) -> None:
    """SHEET: per label, a few positive training faces (left) and their SIA adversaries of
    seed 0 (right; the first from the face itself, the others from random starts)."""
    tiles: list[list[Path]] = []
    for label in LABELS:
        folder = CACHE / label / "sia_seed0"
        if not (folder / PROVENANCE_FILE).exists():
            continue
        by_probe: dict[str, list[str]] = {}
        for r in json.loads((folder / PROVENANCE_FILE).read_text())["images"]:
            by_probe.setdefault(r["probe"], []).append(r["file"])
        for probe, files in list(by_probe.items())[:rows_per_label]:
            source = CACHE / label / "train" / IMAGE_DIR / probe
            tiles.append([source] + [folder / IMAGE_DIR / f for f in files])
    if not tiles:
        return
    side = SIZE * scale
    sheet = Image.new("RGB", (side * max(map(len, tiles)), side * len(tiles)), "white")
    for i, row in enumerate(tiles):
        for j, path in enumerate(row):
            tile = Image.open(path).convert("RGB").resize((side, side), Image.NEAREST)
            sheet.paste(tile, (j * side, i * side))
    sheet.save(SHEET)


def attribute_shifts(label: str, arm: str, seed: int, top: int = 5) -> str | None:
    """The attributes SIA moved most on the adversaries of one arm and seed: mean signed
    change a_T - a0 (mean absolute change in brackets), largest first."""
    folder = CACHE / label / f"{arm}_seed{seed}"
    arrays = CACHE / label / "train.pt"
    if not (folder / PROVENANCE_FILE).exists() or not arrays.exists():
        return None
    a0 = torch.load(arrays)["attrs"]
    lines = (folder / "list_attr_continuous.txt").read_text().splitlines()[2:]
    a_t = {r[0]: torch.tensor([float(v) for v in r[1:]]) for r in map(str.split, lines)}
    images = json.loads((folder / PROVENANCE_FILE).read_text())["images"]
    # the training folder names its images 000001.png, ... in the order of train.pt
    delta = torch.stack([a_t[r["file"]] - a0[int(r["probe"].split(".")[0]) - 1] for r in images])
    mean, size = delta.mean(0), delta.abs().mean(0)
    order = size.argsort(descending=True)[:top].tolist()
    return ", ".join(f"{ATTRIBUTES[k]} {mean[k]:+.2f} ({size[k]:.2f})" for k in order)


def report(log: Log) -> None:
    summary = summarise(cached_results())
    text = "\n".join([*table(summary), "", *ordering(summary)]) + "\n"
    atomic_write_text(CACHE / "table6.md", text)
    print(text)
    for line in ordering(summary):
        log(line)
    for label in LABELS:
        for arm in ("sia", "sia-frozen"):
            for seed in SEEDS:
                shifts = attribute_shifts(label, arm, seed)
                if shifts is not None:
                    log(f"{label} {arm} seed {seed}: attributes moved most: {shifts}")
    if summary:
        plot(summary)
    adversary_sheet()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--label", choices=LABELS, action="append")
    parser.add_argument("--strategy", choices=STRATEGIES, action="append")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--report-only", action="store_true", help="tabulate what is cached")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    check_generator(CACHE, write=not args.report_only)
    log = logger(LOG)
    if not args.report_only:
        log(f"paper_imbalanced: start; labels {args.label or LABELS}, threads {args.threads}")
        for label in args.label or LABELS:
            folder, data = training_set(label, log)
            for seed in SEEDS:
                for strategy in args.strategy or STRATEGIES:
                    if strategy != "sia-frozen" or OCCLUDERS[label]:
                        run_one(label, strategy, seed, folder, data, log)
    report(log)


if __name__ == "__main__":
    main()
