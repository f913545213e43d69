"""The paper's Tables 4 and 5 on synthfaces: adversarial fine-tuning and its transfer.

For each of SEEDS, a regular Eyeglasses classifier (the demo's control recipe, BASE_STEPS
steps, that seed) is the `none` model. FT_PROBES decorrelated training faces (seed 300 + seed,
apart from every audit's probes) are attacked with FGSM, PGD and SIA (`full`) at eps_x
TRAIN_EPS = 4/255 (the paper: 1.5/255; see TRAIN_EPS) with the attack of
policies/fairness.yaml (PGD: its 50 steps of 1/255; FGSM: one step of eps_x), all in the
audit's own batch loop. Each attack's adversaries fine-tune a copy of the
`none` model for one epoch (the paper's setting), every batch half clean faces, half their
adversaries, through the package's `fit` loop (Adam 1e-3, cosine).

Every model is then audited with `sia-audit run`'s own code on EVAL_PROBES test faces (seed
77) twice: at eps_x 1.5/255 (SIA, FGSM and PGD) and at 4/255 (SIA and FGSM), as the paper's
rows. Table 4 is each model's accuracy on each attack's adversaries (the report's robust
accuracy); Table 5 is the SDAR(s) of each model's SIA histogram at each eps (measurable
attributes); every figure is given as mean and spread over the seeds.

    PYTHONPATH=. nice .venv/bin/python -m benchmarks.paper.adversarial [--report-only]

Cached and resumable in benchmarks/.cache/paper/adversarial/ (models, adversaries, one JSON
per audit). Log: docs/logs/paper_adversarial.log; plot: docs/paper-adversarial.png; the tables
go to stdout and the cache's tables45.md.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time
import warnings
from pathlib import Path

import torch

from benchmarks import paths
from benchmarks.cache_stamp import check_generator
from benchmarks.validity.plots import BarGroup, Interval, bar_chart
from scripts.training import (
    DEMO_RECIPES,
    Batch,
    ClassifierRecipe,
    Log,
    SmallCNN,
    fit,
    logger,
    normalise,
    save_classifier,
    train_classifier,
)
from sia_audit.app.inputs import audit_config, generator_path
from sia_audit.app.run import run
from sia_audit.audit import attack_batches
from sia_audit.fsutil import atomic_write_text
from sia_audit.generators.checkpoint import load_generator
from sia_audit.policy.loading import load_policy
from sia_audit.probes.synthetic import SynthProbes
from sia_audit.targets.loading import load_target

CACHE = paths.CACHE / "paper" / "adversarial"
LOG = paths.LOGS / "paper_adversarial.log"
PLOT = paths.ROOT / "docs" / "paper-adversarial.png"
POLICY = paths.ROOT / "policies" / "fairness.yaml"
SEEDS = (1, 2, 3)
BASE_STEPS = 500
# The training adversaries' eps_x. The paper trains at 1.5/255; here the regular model is
# already right on 99.2% of SIA's and 100% of FGSM's and PGD's adversaries at 1.5/255 (seed 1,
# docs/paper-tables.md), so they would teach it nothing; at 4/255 SIA fools it on about half.
TRAIN_EPS = 4 / 255
FT_PROBES = 1024
FT_BATCH = 32  # clean faces per fine-tuning batch, with as many adversaries
FT_LR = 1e-3
EVAL_PROBES = 128
EVAL_SEED = 77
TRAININGS = ("none", "fgsm", "pgd", "full")
NAMES = {"none": "Non-Adv", "fgsm": "FGSM-Adv", "pgd": "PGD-Adv", "full": "SIA-Adv"}
EVALS = {"1.5/255": ("full", "fgsm", "pgd"), "4/255": ("full", "fgsm")}
EVAL_POLICY = """version: 1
probes: {{source: builtin:synthfaces, count: {count}, seed: {seed}, size: 64}}
generator: builtin:synthfaces
attack: {{variant: full, steps: 50, eta_x: 1/255, eta_a: 4/255, eps_x: {eps},
         baselines: {baselines}, batch_size: 32}}
bootstrap: {{resamples: 200, seed: 0, level: 0.95}}
"""
# The paper's Table 4 (accuracy %, CelebA Eyeglasses, ResNet-50) and Table 5 (SDAR).
PAPER_T4 = {
    "clean": {"none": 99.63, "pgd": 99.54, "spt": 99.51, "full": 99.52},
    "fgsm 1.5/255": {"none": 73.97, "pgd": 86.55, "spt": 77.76, "full": 94.01},
    "pgd 1.5/255": {"none": 50.63, "pgd": 81.98, "spt": 16.52, "full": 86.90},
    "full 1.5/255": {"none": 12.59, "pgd": 27.90, "spt": 74.01, "full": 67.07},
    "fgsm 4/255": {"none": 22.47, "pgd": 22.09, "spt": 41.78, "full": 45.51},
    "full 4/255": {"none": 4.56, "pgd": 10.85, "spt": 10.55, "full": 12.57},
}
PAPER_T5 = {
    "1.5/255": {"none": 0.1145, "pgd": 0.0917, "spt": 0.0852, "full": 0.0781},
    "4/255": {"none": 0.1419, "pgd": 0.1270, "spt": 0.1253, "full": 0.1056},
}


def recipe(seed: int) -> ClassifierRecipe:
    base = DEMO_RECIPES["eyeglasses_control"]
    return dataclasses.replace(base, name=f"eyeglasses_regular_seed{seed}", seed=seed)


def base_model(seed: int, log: Log) -> Path:
    path = CACHE / f"none_seed{seed}.pt"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        model = train_classifier(recipe(seed), BASE_STEPS, log)
        save_classifier(
            model, recipe(seed), BASE_STEPS, path, trained_by="benchmarks/paper/adversarial.py"
        )
    return path


def adversaries(seed: int, log: Log) -> dict[str, torch.Tensor]:
    """x0, labels and the FGSM, PGD and SIA adversaries of the fine-tuning faces."""
    path = CACHE / f"adversaries_seed{seed}_eps{TRAIN_EPS * 255:g}.pt"
    if not path.exists():
        t0 = time.time()
        policy = load_policy(POLICY)
        config = audit_config(policy, "cpu", None)
        attack = dataclasses.replace(config.attack, eps_x=TRAIN_EPS)
        config = dataclasses.replace(config, attack=attack, gallery=0)
        target = load_target(str(base_model(seed, log))).eval()
        generator = load_generator(generator_path(policy.generator.source)).eval()
        probes = SynthProbes(count=FT_PROBES, seed=300 + seed, size=64)
        parts: dict[str, list[torch.Tensor]] = {k: [] for k in ("x0", "y", *TRAININGS[1:])}
        for b in attack_batches(probes, generator, target, config, TRAININGS[1:]):
            parts["x0"].append(b.x0.cpu())
            parts["y"].append(b.y.cpu())
            for name in TRAININGS[1:]:
                parts[name].append(b.results[name].adversary.detach().cpu())
        data = {k: torch.cat(v) for k, v in parts.items()}
        torch.save(data, path)
        log(
            f"seed {seed}: {FT_PROBES} faces attacked by FGSM, PGD, SIA in {time.time() - t0:.0f} s"
        )
    return torch.load(path)


def fine_tuned(seed: int, attack: str, log: Log) -> Path:
    """The `none` model fine-tuned for one epoch on clean faces and their `attack` adversaries."""
    if attack == "none":
        return base_model(seed, log)
    path = CACHE / f"{attack}_seed{seed}.pt"
    if path.exists():
        return path
    data = adversaries(seed, log)
    model = SmallCNN()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit's deprecation notice
        model.load_state_dict(torch.jit.load(str(base_model(seed, log))).state_dict())
    order = torch.randperm(FT_PROBES, generator=torch.Generator().manual_seed(seed))
    steps = FT_PROBES // FT_BATCH

    def next_batch(step: int) -> Batch:
        idx = order[(step - 1) * FT_BATCH : step * FT_BATCH]
        x = torch.cat([data["x0"][idx], data[attack][idx]])
        y = data["y"][idx].float()
        return Batch(normalise(x), torch.cat([y, y]))

    torch.manual_seed(seed)
    fit(model, next_batch, steps, log, name=f"{attack}-adv seed {seed}", lr=FT_LR)
    save_classifier(model, recipe(seed), BASE_STEPS, path, trained_by=f"fine-tuned on {attack}")
    return path


def evaluate(seed: int, training: str, eps: str, log: Log) -> dict:
    """One audit of one model at one eps: robust accuracy per attack, clean accuracy, SDAR."""
    out = CACHE / "audits" / f"{training}_seed{seed}_eps{eps.split('/')[0]}.json"
    if out.exists():
        return json.loads(out.read_text())
    path = fine_tuned(seed, training, log)
    attacks = EVALS[eps]
    policy_path = CACHE / f"eval-policy-{eps.split('/')[0]}.yaml"
    policy_path.write_text(
        EVAL_POLICY.format(
            count=EVAL_PROBES, seed=EVAL_SEED, eps=eps, baselines="[" + ", ".join(attacks[1:]) + "]"
        )
    )
    t0 = time.time()
    r = run(str(path), load_policy(policy_path), policy_path, device="cpu").result
    data = {
        "seed": seed,
        "training": training,
        "eps": eps,
        "clean": r.clean_accuracy.value,
        "reconstruction": r.reconstruction_accuracy.value,
        "robust": {name: r.attacks[name].robust_accuracy.value for name in attacks},
        "sdar_s": r.sensitivity.sdar_s.value,
        "s": dict(zip(r.sensitivity.attributes, (e.value for e in r.sensitivity.s), strict=True)),
        "unmeasurable": list(r.sensitivity.unmeasurable),
        "seconds": round(time.time() - t0, 1),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, json.dumps(data, indent=1) + "\n")
    log(
        f"{NAMES[training]} seed {seed} at {eps}: clean {data['clean']:.3f}, "
        + ", ".join(f"{k} {v:.3f}" for k, v in data["robust"].items())
        + f", SDAR {data['sdar_s']:.4f} ({data['seconds']:.0f} s)"
    )
    return data


def cached_audits() -> list[dict]:
    folder = CACHE / "audits"
    return (
        [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]
        if folder.exists()
        else []
    )


def cell(values: list[float], scale: float = 100.0, digits: int = 1) -> str:
    if not values:
        return "-"
    mean = statistics.fmean(values) * scale
    sd = statistics.stdev(values) * scale if len(values) > 1 else 0.0
    return f"{mean:.{digits}f} ± {sd:.{digits}f} (n={len(values)})"


def tables(audits: list[dict]) -> str:
    def of(training: str, eps: str) -> list[dict]:
        return [a for a in audits if a["training"] == training and a["eps"] == eps]

    head = "| adversaries of | " + " | ".join(NAMES[t] for t in TRAININGS) + " |"
    rule = "|---" * (len(TRAININGS) + 1) + "|"
    t4 = ["Table 4: accuracy % on each attack's adversaries (mean ± sd over seeds)", "", head, rule]
    rows = [("clean", "1.5/255", None)] + [
        (f"{a} {eps}", eps, a) for eps, attacks in EVALS.items() for a in attacks
    ]
    for label, eps, attack in rows:
        cells = []
        for t in TRAININGS:
            vals = [a["clean"] if attack is None else a["robust"][attack] for a in of(t, eps)]
            cells.append(cell(vals))
        paper = PAPER_T4.get(label, {})
        ref = ", ".join(f"{NAMES.get(k, 'SPT-Adv')} {v}" for k, v in paper.items())
        t4.append(f"| {label.replace('full', 'SIA')} | " + " | ".join(cells) + f" | {ref} |")
    t4[2] = head + " paper |"
    t4[3] = rule + "---|"
    t5 = ["", "Table 5: SDAR(s) of each model's SIA histogram (lower: less biased)", "", head, rule]
    for eps in EVALS:
        cells = [cell([a["sdar_s"] for a in of(t, eps)], scale=1.0, digits=4) for t in TRAININGS]
        ref = ", ".join(f"{NAMES.get(k, 'SPT-Adv')} {v}" for k, v in PAPER_T5[eps].items())
        t5.append(f"| SIA at {eps} | " + " | ".join(cells) + f" | {ref} |")
    t5[3] = head + " paper |"
    t5[4] = rule + "---|"
    return "\n".join(t4 + t5) + "\n"


def plot(audits: list[dict]) -> None:
    """PLOT: accuracy on SIA's and FGSM's adversaries at 4/255 (the rows that are not at
    ceiling), and SDAR at 4/255, per training; bar: mean over seeds, whisker: min-max."""
    panels = []
    for title, figure in (
        ("SIA 4/255: accuracy %", lambda a: 100 * a["robust"]["full"]),
        ("FGSM 4/255: accuracy %", lambda a: 100 * a["robust"]["fgsm"]),
        ("SDAR(s) at 4/255", lambda a: a["sdar_s"]),
    ):
        per = [
            [figure(a) for a in audits if a["training"] == t and a["eps"] == "4/255"]
            for t in TRAININGS
        ]
        if not all(per):
            return
        values = (tuple(Interval(statistics.fmean(v), min(v), max(v)) for v in per),)
        panels.append(
            BarGroup(
                title,
                tuple(NAMES[t] for t in TRAININGS),
                ("mean over seeds",),
                values,
                (tuple(tuple(v) for v in per),),
            )
        )
    bar_chart(
        panels,
        PLOT,
        "Tables 4-5 on synthfaces: fine-tuned on 4/255 adversaries, audited at 4/255",
        note="bar: mean over seeds; whisker: min-max; dots: each seed",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--report-only", action="store_true", help="tabulate what is cached")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    check_generator(CACHE, write=not args.report_only)
    log = logger(LOG)
    if not args.report_only:
        log(f"paper_adversarial: start; seeds {SEEDS}, threads {args.threads}")
        for seed in SEEDS:
            for training in TRAININGS:
                for eps in EVALS:
                    evaluate(seed, training, eps, log)
    text = tables(cached_audits())
    if CACHE.exists():
        atomic_write_text(CACHE / "tables45.md", text)
        plot(cached_audits())
    print(text)


if __name__ == "__main__":
    main()
