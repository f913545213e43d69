"""The held-out suite: train its models, audit them with `sia-audit run`, keep the reports.

The grid and its split are declared in heldout_grid.py. Training a model caches it with its
held-out figures; a rerun resumes. A plant keeps a snapshot at its first held-out check in
each band (weak, strong) from step 100 on, and moves along LEVELS until some band is found
(at most MAX_TRIES models). Auditing runs `sia-audit run` on every trained model under the
suite's policy (AUDIT_POLICY: the demo's attack on 256 probes, no pixel baselines) and keeps
its report.json; heldout_scoring.py reads the reports.

    PYTHONPATH=. nice .venv/bin/python -m benchmarks.validity.heldout_suite train --half choose
    PYTHONPATH=. nice .venv/bin/python -m benchmarks.validity.heldout_suite audit --half choose

Cache: benchmarks/.cache/heldout/ (stamped with the generator); log: docs/logs/heldout_suite.log.
A lost cache is refilled from the committed packs (docs/logs/heldout/) before either phase, so
a rerun neither retrains nor re-audits a model whose audit is packed, and a plant search goes
on after its last kept try (docs/logs/heldout/tries/).
"""

from __future__ import annotations

import argparse
import copy
import gzip
import json
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import torch
from torch import nn

from benchmarks import paths
from benchmarks.cache_stamp import check_generator
from benchmarks.validity import heldout_grid as grid
from benchmarks.validity.heldout_loop import (
    fit_adadelta_steps,
    fit_adafactor_blur,
    fit_adagrad_crop,
    fit_adam_erase,
    fit_adam_plateau,
    fit_adamax_restarts,
    fit_adamw_aug,
    fit_adamw_noise,
    fit_amsgrad_saturation,
    fit_nadam_cutmix,
    fit_radam_smooth,
    fit_rmsprop_aug,
    fit_sgd_aug,
    fit_sgd_mixup,
    fit_sgd_rotate,
)
from benchmarks.validity.heldout_nets import NETS
from scripts.training import (
    ClassifierRecipe,
    Log,
    fit,
    logger,
    save_classifier,
    shipped_generator,
    train_classifier,
)
from sia_audit.fsutil import atomic_write_text, sha256_of

CACHE = paths.CACHE / "heldout"
LOG = paths.LOGS / "heldout_suite.log"
# Every audit, packed (its training record and its report.json without the gallery, gzipped),
# committed so that the scores can be recomputed without the models (a ResNet-18 is 45 MB).
RESULTS = paths.LOGS / "heldout"
# A plant's try that found no band has no model to audit; its training record, which decides the
# search's next try, is kept beside the packs (RESULTS/TRIES/NAME.train.json).
TRIES = "tries"
LOOPS = {
    "fit": fit,
    "sgd-aug": fit_sgd_aug,
    "adamw-aug": fit_adamw_aug,
    "rmsprop-aug": fit_rmsprop_aug,
    "sgd-mixup": fit_sgd_mixup,
    "adam-erase": fit_adam_erase,
    "nadam-cutmix": fit_nadam_cutmix,
    "radam-smooth": fit_radam_smooth,
    "adamax-restarts": fit_adamax_restarts,
    "adam-plateau": fit_adam_plateau,
    "adagrad-crop": fit_adagrad_crop,
    "adamw-noise": fit_adamw_noise,
    "adadelta-steps": fit_adadelta_steps,
    "sgd-rotate": fit_sgd_rotate,
    "adafactor-blur": fit_adafactor_blur,
    "amsgrad-saturation": fit_amsgrad_saturation,
}
AUDIT_POLICY = """version: 1
probes: {source: builtin:synthfaces, count: 256, seed: 0, size: 64}
generator: builtin:synthfaces
attack: {variant: full, steps: 50, eta_x: 1/255, eta_a: 4/255, eps_x: 1.5/255, baselines: [],
         batch_size: 32}
bootstrap: {resamples: 1000, seed: 0, level: 0.95}
editability: {min_expression: 0.8, on_unmeasurable: skip}
"""


def recipe(
    arch: grid.Arch, label: str, attr: str | None, level: tuple[float, float], seed: int
) -> ClassifierRecipe:
    """A control (attr None, level ignored) or a plant of attr at a LEVELS entry."""
    if attr is None:
        name = f"{arch.key}_{label}_control_s{seed}"
        return ClassifierRecipe(name, label, (), (), seed=seed, steps=grid.STEPS, arch=arch.key)
    r, p = level
    return ClassifierRecipe(
        f"{arch.key}_{label}_{attr}_r{r:g}_p{p:g}",
        label,
        (f"{label}->{attr}@{p:g}",),
        ((attr, 0.0),),
        seed=seed,
        steps=grid.STEPS,
        label_reliability=r,
        shortcut=attr,
        arch=arch.key,
    )


def disagree_key(attr: str) -> str:
    return f"acc_where_{attr}_disagrees"


def train(rec: ClassifierRecipe, arch: grid.Arch, log: Log) -> dict:
    """Train (or reuse) one model; returns its record (also cached as NAME.train.json).

    A control trains all STEPS and is saved as NAME.pt. A plant records every held-out check
    (`trajectory`: step, clean accuracy, accuracy where the shortcut disagrees) and saves a
    snapshot per band it reached, as NAME.weak.pt / NAME.strong.pt.
    """
    record_path = CACHE / "models" / f"{rec.name}.train.json"
    if record_path.exists():
        return json.loads(record_path.read_text())
    record_path.parent.mkdir(parents=True, exist_ok=True)
    log(f"{rec.name}: training up to {rec.steps} steps ({arch.net}, loop {arch.loop})")
    t0 = time.time()
    made: list[nn.Module] = []
    trajectory: list[list[float]] = []
    snaps: dict[str, tuple[int, dict, dict]] = {}

    def net() -> nn.Module:
        made.append(NETS[arch.net]())
        return made[-1]

    def stop(step: int, figures: dict[str, float]) -> bool:
        if rec.shortcut is None:
            return False
        clean, dis = figures["clean_acc"], figures[disagree_key(rec.shortcut)]
        trajectory.append([step, clean, dis])
        found = grid.band(clean, dis) if step >= grid.FIRST_CHECK else None
        if found and found not in snaps:
            snaps[found] = (step, copy.deepcopy(made[-1].state_dict()), dict(figures))
        if "strong" in snaps:
            return True
        return "weak" in snaps and step - snaps["weak"][0] >= grid.AFTER_WEAK

    model = train_classifier(
        rec, rec.steps, log, eval_every=grid.EVAL_EVERY, stop=stop, net=net, loop=LOOPS[arch.loop]
    )
    by = f"benchmarks/validity/heldout_suite.py ({arch.net}, loop {arch.loop})"
    record: dict = {"name": rec.name, "arch": arch.key, "label": rec.label,
                    "shortcut": rec.shortcut, "seed": rec.seed,
                    "label_reliability": rec.label_reliability,
                    "correlation": rec.correlations[0] if rec.correlations else None,
                    "trajectory": trajectory, "models": {}}  # fmt: skip
    if rec.shortcut is None:
        from scripts.training import evaluate_classifier
        from sia_audit.generators.checkpoint import load_generator

        figures = evaluate_classifier(model, load_generator(shipped_generator()), rec)
        save_classifier(model, rec, rec.steps, CACHE / "models" / f"{rec.name}.pt", trained_by=by)
        record["models"]["control"] = {"file": f"{rec.name}.pt", "steps": rec.steps, **figures}
    for name, (step, state, figures) in snaps.items():
        model.load_state_dict(state)
        model.eval()
        path = CACHE / "models" / f"{rec.name}.{name}.pt"
        save_classifier(model, rec, step, path, trained_by=by)
        record["models"][name] = {"file": path.name, "steps": step, **figures}
    record["train_seconds"] = time.time() - t0
    atomic_write_text(record_path, json.dumps(record, indent=1))
    if not record["models"]:  # nothing to audit and pack: keep the try's record with the packs
        kept = {**record, "generator_sha256": sha256_of(shipped_generator())}
        (RESULTS / TRIES).mkdir(parents=True, exist_ok=True)
        atomic_write_text(RESULTS / TRIES / record_path.name, json.dumps(kept, indent=1))
    summary = {k: {f: v for f, v in m.items() if f != "file"} for k, m in record["models"].items()}
    log(f"{rec.name}: done in {record['train_seconds']:.0f}s; {summary or 'no realistic check'}")
    return record


def tune(arch: grid.Arch, label: str, attr: str, log: Log) -> list[dict]:
    """Plant attr along LEVELS until some band is found (at most MAX_TRIES models)."""
    records = []
    weak, strong, i = -1, len(grid.LEVELS), grid.FIRST
    for _ in range(grid.MAX_TRIES):
        rec = recipe(arch, label, attr, grid.LEVELS[i], grid.PLANT_SEED)
        record = train(rec, arch, log)
        records.append(record)
        if record["models"]:
            break
        weak, strong, nxt = grid.next_level(weak, strong, i, used(record))
        if nxt is None:
            break
        i = nxt
    return records


def used(record: dict) -> bool:
    """Whether a plant's training used its shortcut (accuracy where it disagrees fell to the
    weak band's top or below, from the first check on)."""
    return any(step >= grid.FIRST_CHECK and dis <= grid.WEAK[1]
               for step, _, dis in record["trajectory"])  # fmt: skip


def weaker(arch: grid.Arch, label: str, attr: str, log: Log) -> list[dict]:
    """After `tune`: where no band was found and the weakest LEVELS pull was used too much, go
    on along grid.WEAKER until a band is found or a pull is not used."""
    tried = tune(arch, label, attr, log)  # once tune has run, this only reads its records
    weakest = recipe(arch, label, attr, grid.LEVELS[0], grid.PLANT_SEED).name
    last = {r["name"]: r for r in tried}.get(weakest)
    if any(r["models"] for r in tried) or last is None or not used(last):
        return []
    records = []
    for level in grid.WEAKER:
        record = train(recipe(arch, label, attr, level, grid.PLANT_SEED), arch, log)
        records.append(record)
        if record["models"] or not used(record):
            break
    return records


def controls_saved(arch: grid.Arch, label: str) -> bool:
    """Whether both controls (the null pair) of a cell are trained and saved."""
    return all(
        (CACHE / "models" / f"{recipe(arch, label, None, grid.LEVELS[0], seed).name}.pt").exists()
        for seed in grid.CONTROL_SEEDS
    )


def train_half(
    half: str,
    log: Log,
    archs: Sequence[str] = (),
    plants_only: bool = False,
    labels: Sequence[str] = (),
    weakest: bool = False,
) -> None:
    """Label by label, each cell's controls (every seed) and then its first shortcut; after
    every label, the other shortcuts. A run stopped part-way leaves whole cells: a null pair
    and a plant, which is what the false-alarm rate and the power are read from. `archs`
    (cache keys) keeps only those architectures' cells: two processes, one per architecture,
    train a half on two cores without ever training the same model; `labels` does the same by
    label. `plants_only` keeps the cells whose null pair is already saved and trains only their
    plants, both shortcuts: the cheapest way to more plants, since a control trains all STEPS
    and a plant stops at its band. In a half that makes the swap itself (`grid.auto_seeds`), a
    cell whose first control learnt its label below the band's CLEAN_MIN trains grid.AUTO_SEEDS
    in place of its searches (`swap_searches`)."""
    cells = sorted(
        (
            cell
            for cell in grid.cells(half)
            if (not archs or cell[0].key in archs) and (not labels or cell[1] in labels)
        ),
        key=lambda cell: list(grid.labels(half)).index(cell[1]),
    )
    if weakest:
        for arch, label in cells:
            for attr in grid.labels(half)[label]:
                weaker(arch, label, attr, log)
        return
    if plants_only:
        cells = [(arch, label) for arch, label in cells if controls_saved(arch, label)]
        for arch, label in cells:
            for attr in grid.labels(half)[label]:
                tune(arch, label, attr, log)
        return
    swapped: set[tuple[str, str]] = set()  # cells whose searches gave way to more seeds
    for label in dict.fromkeys(label for _, label in cells):
        for arch, _ in (cell for cell in cells if cell[1] == label):
            declared = (*grid.CONTROL_SEEDS, *grid.MORE_SEEDS.get(half, {}).get(label, ()))
            first = {s: train(recipe(arch, label, None, grid.LEVELS[0], s), arch, log)
                     for s in declared}  # fmt: skip
            if swap_searches(half, arch, label, first[grid.PLANT_SEED], log):
                swapped.add((arch.key, label))
                for seed in grid.control_seeds(half, label)[len(declared) :]:
                    train(recipe(arch, label, None, grid.LEVELS[0], seed), arch, log)
        for arch, _ in (cell for cell in cells if cell[1] == label):
            if (arch.key, label) in swapped:
                continue
            for attr in grid.labels(half)[label][:1]:  # none where a label has no search
                tune(arch, label, attr, log)
    for arch, label in cells:
        if (arch.key, label) in swapped:
            continue
        for attr in grid.labels(half)[label][1:]:
            tune(arch, label, attr, log)


def swap_searches(half: str, arch: grid.Arch, label: str, first: dict, log: Log) -> bool:
    """Whether a cell's shortcut searches give way to more truthful seeds (grid.AUTO_SEEDS):
    in a half that makes that swap itself, where the label has searches and its first control
    (`first`, its training record) learnt the label below the band's CLEAN_MIN."""
    control = first.get("models", {}).get("control") or {}
    acc = control.get("clean_acc")
    if not grid.auto_seeds(half) or not grid.labels(half)[label] or acc is None:
        return False
    if acc >= grid.CLEAN_MIN:
        return False
    log(f"{arch.key} {label}: seed {grid.PLANT_SEED} learnt it to {acc:.3f}, below "
        f"{grid.CLEAN_MIN}: no realistic plant can be made, so its searches give way to "
        f"seeds {', '.join(map(str, grid.AUTO_SEEDS))}")  # fmt: skip
    return True


def trained(half: str) -> list[dict]:
    """Every model of the half that training saved: its record entry, with its kind."""
    out = []
    for arch, label in grid.cells(half):
        for seed in grid.control_seeds(half, label):
            rec = recipe(arch, label, None, grid.LEVELS[0], seed)
            out += _saved(rec.name, "control")
        for attr in grid.labels(half)[label]:
            for path in sorted((CACHE / "models").glob(f"{arch.key}_{label}_{attr}_r*.train.json")):
                out += _saved(path.name.removesuffix(".train.json"), "plant")
    return out


def _saved(name: str, kind: str) -> list[dict]:
    path = CACHE / "models" / f"{name}.train.json"
    if not path.exists():
        return []
    record = json.loads(path.read_text())
    return [{**record, "kind": kind, "band": band, **model}
            for band, model in record["models"].items()]  # fmt: skip


def pack(model: dict, report: Path) -> Path:
    """Write RESULTS/NAME.json.gz: the model's training record and its report, no gallery."""
    data = json.loads(report.read_text())
    data["gallery"] = []
    packed = {"training": model, "report": data}
    out = RESULTS / f"{Path(model['file']).stem}.json.gz"
    out.parent.mkdir(parents=True, exist_ok=True)
    blob = gzip.compress(json.dumps(packed, sort_keys=True).encode(), mtime=0)
    tmp = out.with_suffix(".tmp")
    tmp.write_bytes(blob)
    tmp.replace(out)
    return out


def restore(half: str, generator_sha256: str, log: Log) -> int:
    """Refill a lost cache from the packs: for every packed audit of the half made with this
    generator, its training record and its report.json, and every kept try of the half (TRIES),
    where the cache lacks them. Training and auditing then skip what the packs hold (the
    models themselves are not in a pack: a restored model can be scored, not audited again),
    and a search goes on from its last kept try. Returns how many it wrote."""
    cells = {(arch.key, label) for arch, label in grid.cells(half)}
    wrote = 0
    for path in sorted(RESULTS.glob("*.json.gz")):
        packed = json.loads(gzip.decompress(path.read_bytes()))
        model, report = packed["training"], packed["report"]
        if (model["arch"], model["label"]) not in cells:
            continue
        if report["provenance"]["generator_sha256"] != generator_sha256:
            continue
        record_path = CACHE / "models" / f"{model['name']}.train.json"
        report_path = CACHE / "reports" / Path(model["file"]).stem / "report.json"
        own = {"kind", "band"} | set(model["models"][model["band"]])
        record = {k: v for k, v in model.items() if k not in own}
        for out, text in ((record_path, json.dumps(record, indent=1)),
                          (report_path, json.dumps(report, indent=1))):  # fmt: skip
            if not out.exists():
                out.parent.mkdir(parents=True, exist_ok=True)
                atomic_write_text(out, text)
                wrote += 1
    for path in sorted((RESULTS / TRIES).glob("*.train.json")):
        kept = json.loads(path.read_text())
        record = {k: v for k, v in kept.items() if k != "generator_sha256"}
        out = CACHE / "models" / path.name
        mine = kept.get("generator_sha256") == generator_sha256
        if mine and (record["arch"], record["label"]) in cells and not out.exists():
            out.parent.mkdir(parents=True, exist_ok=True)
            atomic_write_text(out, json.dumps(record, indent=1))
            wrote += 1
    if wrote:
        log(f"heldout_suite: restored {wrote} cache file(s) of the {half} half from {RESULTS}")
    return wrote


def audit(model: dict, log: Log, threads: int) -> Path:
    """report.json of `sia-audit run` on one saved model under AUDIT_POLICY (cached), packed."""
    out = CACHE / "reports" / Path(model["file"]).stem
    report = out / "report.json"
    if report.exists():
        if not (RESULTS / f"{Path(model['file']).stem}.json.gz").exists():
            pack(model, report)
        return report
    if not (CACHE / "models" / model["file"]).exists():
        raise SystemExit(f"{model['file']}: neither in {CACHE / 'models'} nor packed in {RESULTS}; "
                         f"delete {model['name']}.train.json there to train it again")  # fmt: skip
    cmd = [sys.executable, "-m", "sia_audit", "run", str(CACHE / "models" / model["file"]),
           "--policy", str(CACHE / "audit-policy.yaml"), "--out", str(out), "--format", "json",
           "--device", "cpu", "--quiet", "--threads", str(threads)]  # fmt: skip
    t0 = time.time()
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode not in (0, 1):
        raise SystemExit(f"{model['file']}: sia-audit run exited {done.returncode}: "
                         f"{done.stderr.strip().splitlines()[-1:]}")  # fmt: skip
    log(f"{model['file']}: audited in {time.time() - t0:.0f}s")
    pack(model, report)
    return report


def audit_half(half: str, log: Log, threads: int, labels: Sequence[str] = ()) -> None:
    """Audit every saved model of the half: controls first, then plants. `labels` keeps only
    those labels' models: two processes, one per label, audit a half on two cores without
    ever auditing the same model, and one label's audits can start while another trains."""
    atomic_write_text(CACHE / "audit-policy.yaml", AUDIT_POLICY)
    models = [m for m in trained(half) if not labels or m["label"] in labels]
    for model in sorted(models, key=lambda m: m["kind"] != "control"):
        audit(model, log, threads)


def main() -> None:
    global CACHE  # noqa: PLW0603 (one run, one setting)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="phase", required=True)
    p_train = sub.add_parser("train", help="train (or resume) one half's models")
    p_train.add_argument("--half", choices=grid.HALVES, required=True)
    p_train.add_argument("--threads", type=int, default=1)
    p_train.add_argument("--arch", action="append", default=[], help="only this architecture "
                         "(a cache key such as r18; repeat for more)")  # fmt: skip
    p_train.add_argument("--label", action="append", default=[], help="only this label "
                         "(repeat for more)")  # fmt: skip
    p_train.add_argument("--plants-only", action="store_true", help="only the plants of the "
                         "cells whose two controls are saved")  # fmt: skip
    p_train.add_argument("--weaker", action="store_true", help="only the grid's WEAKER pulls, "
                         "where every try used its shortcut too much")  # fmt: skip
    p_train.add_argument("--cache", type=Path, default=CACHE)
    p_audit = sub.add_parser("audit", help="audit (or resume) one half's trained models")
    p_audit.add_argument("--half", choices=grid.HALVES, required=True)
    p_audit.add_argument("--threads", type=int, default=1)
    p_audit.add_argument("--label", action="append", default=[], help="only this label's "
                         "models (repeat for more)")  # fmt: skip
    p_audit.add_argument("--cache", type=Path, default=CACHE)
    args = parser.parse_args()
    CACHE = args.cache
    torch.set_num_threads(args.threads)
    check_generator(CACHE)
    log = logger(LOG)
    restore(args.half, sha256_of(shipped_generator()), log)
    if args.phase == "train":
        only = f" ({', '.join(args.arch + args.label)} only)" if args.arch or args.label else ""
        only += " (plants of cells with a null pair)" if args.plants_only else ""
        only += " (weaker pulls)" if args.weaker else ""
        log(f"heldout_suite: training the {args.half} half{only}, {args.threads} thread(s)")
        t0 = time.time()
        train_half(args.half, log, args.arch, args.plants_only, args.label, args.weaker)
        log(f"heldout_suite: {args.half} half trained in {time.time() - t0:.0f}s")
    if args.phase == "audit":
        only = f" ({', '.join(args.label)} only)" if args.label else ""
        log(f"heldout_suite: auditing the {args.half} half{only}, {args.threads} thread(s)")
        t0 = time.time()
        audit_half(args.half, log, args.threads, args.label)
        log(f"heldout_suite: {args.half} half audited in {time.time() - t0:.0f}s")


if __name__ == "__main__":
    main()
