"""The planted-truth suite: realistic biased models, their controls, every figure scored.

For each architecture (SmallCNN, SmallResNet), each label and each of six shortcut attributes
spread over the face, a classifier is trained with the shortcut planted. Its pull is set by two
knobs (LEVELS): the label's own attribute is drawn truthfully on a fraction r of the training
faces (the label reliability), and the shortcut comes with the label with probability p. Held-out
checks every 50 steps on decorrelated faces stop training at the first realistic model: clean
accuracy >= 0.9 while the shortcut is measurably used (accuracy where it disagrees with the
label <= 0.85). A plant that ends elsewhere bisects LEVELS (a stronger pull if it never used
the shortcut, weaker if it used it too much), at most four models; one that none of them makes
realistic is reported, not counted. One truthfully labelled control per label and architecture.

Every model is audited with the demo's attack on the demo's 64 probes (a suite policy written
into the cache: policies/fairness.yaml without gates or pixel baselines), and every candidate
figure of benchmarks/validity/planted_scoring.py is scored: rank of the planted attribute, paired
biased - control interval, AUC, and separation by one threshold.

    PYTHONPATH=. nice .venv/bin/python -m benchmarks.validity.planted_suite --arch cnn --label Bald
    PYTHONPATH=. .venv/bin/python -m benchmarks.validity.planted_suite --report-only

Everything is cached in benchmarks/.cache/planted/ (models, their training figures, audits), so
a run resumes where it stopped; the log goes to docs/logs/planted_suite.log, the tables to
stdout and benchmarks/.cache/planted/tables.md.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from benchmarks import paths
from benchmarks.cache_stamp import check_generator
from benchmarks.validity.planted_scoring import (
    FIGURES,
    AuditData,
    Plant,
    label_thresholds,
    paired_interval,
    rank,
    score,
)
from scripts.training import (
    ClassifierRecipe,
    Log,
    evaluate_classifier,
    logger,
    save_classifier,
    shipped_generator,
    train_classifier,
)
from sia_audit.app.run import run
from sia_audit.fsutil import atomic_write_text
from sia_audit.generators.checkpoint import load_generator
from sia_audit.policy.loading import load_policy

CACHE = paths.CACHE / "planted"
LOG = paths.LOGS / "planted_suite.log"
ARCHS = ("cnn", "resnet")
# Per label, six shortcuts over the face's regions: mouth, hair colour or scalp, forehead,
# skin, age, eyes. None is the label itself or hidden by it (a bald head shows no hair colour),
# and none is Male or Brown_Hair, which the stage-0 generator the suite was run with could not
# draw (editability). Young stands for age although stage 0 fell just short on the 64 probes
# (expression 0.78 < 0.8): its plants are scored, and
# docs/validity-earlier-generators.md says so. (Stage 1, shipped
# since 2026-12-02, draws all 15 on these probes; a re-run could plant Male too.)
SHORTCUTS = {
    "Eyeglasses": ("Mustache", "Blond_Hair", "Bangs", "Pale_Skin", "Young", "Bushy_Eyebrows"),
    "Male": ("Smiling", "Blond_Hair", "Bangs", "Pale_Skin", "Young", "Eyeglasses"),
    "No_Beard": ("Wearing_Lipstick", "Black_Hair", "Bald", "Pale_Skin", "Young", "Eyeglasses"),
    "Bald": (
        "Mouth_Slightly_Open",
        "Mustache",
        "Wearing_Lipstick",
        "Pale_Skin",
        "Young",
        "Eyeglasses",
    ),  # fmt: skip
}
# The counted plants that w (s x effect share) was chosen on, at 2026-12-01 00:17 UTC; every
# plant counted after them is held out, and the table scores the figures on those alone too.
W_CHOSEN_ON = frozenset(
    [f"cnn Eyeglasses {a}" for a in ("Mustache", "Bangs", "Pale_Skin", "Young", "Bushy_Eyebrows")]
    + [f"cnn Male {a}" for a in ("Smiling", "Bangs", "Pale_Skin", "Eyeglasses")]
    + ["cnn No_Beard Young"]
    + [f"cnn Bald {a}" for a in ("Mouth_Slightly_Open", "Mustache", "Pale_Skin")]
    + [f"resnet Eyeglasses {a}" for a in ("Blond_Hair", "Bangs", "Pale_Skin", "Young")]
    + ["resnet Male Smiling", "resnet Bald Mustache", "resnet Bald Pale_Skin"]
)
STEPS = 500
EVAL_EVERY = 50  # held-out checks during training; a plant stops at its first realistic one
CLEAN_MIN, SHORTCUT_MAX = 0.9, 0.85
# The shortcut's pull, weakest first: (label reliability r, P(shortcut | label) p). With r < 1
# and p = 1 the shortcut predicts the labels better than the label's own attribute, and the
# model leans on it more the longer it trains; with r = 1 and p < 1 the label's attribute is
# the better cue, and a salient shortcut learned first fades as training goes on.
LEVELS = (
    (1.0, 0.8),
    (1.0, 0.9),
    (1.0, 0.95),
    (1.0, 1.0),
    (0.998, 1.0),
    (0.995, 1.0),
    (0.99, 1.0),
    (0.97, 1.0),
    (0.91, 1.0),
)
FIRST = LEVELS.index((0.99, 1.0))  # the demo's biased recipe
MAX_TRIES = 4
SUITE_POLICY = """version: 1
probes: {source: builtin:synthfaces, count: 64, seed: 0, size: 64}
generator: builtin:synthfaces
attack: {variant: full, steps: 50, eta_x: 1/255, eta_a: 4/255, eps_x: 1.5/255, baselines: [],
         batch_size: 32}
bootstrap: {resamples: 200, seed: 0, level: 0.95}
"""


def recipe(arch: str, label: str, attr: str | None, level: tuple[float, float]) -> ClassifierRecipe:
    """A plant of attr at a LEVELS entry (attr None: the truthful control, level ignored)."""
    if attr is None:
        return ClassifierRecipe(
            f"{arch}_{label}_control", label, (), (), seed=1, steps=STEPS, arch=arch
        )
    r, p = level
    return ClassifierRecipe(
        f"{arch}_{label}_{attr}_r{r:g}_p{p:g}",
        label,
        (f"{label}->{attr}@{p:g}",),
        ((attr, 0.0),),
        seed=1,
        steps=STEPS,
        label_reliability=r,
        shortcut=attr,
        arch=arch,
    )


def train(rec: ClassifierRecipe, log: Log) -> tuple[Path, dict]:
    """Train (or reuse) one model; its held-out figures are cached beside it.

    A plant stops at its first realistic held-out check from step 100 on; the figures keep
    every check (`trajectory`: step, clean accuracy, accuracy where the shortcut disagrees).
    """
    path = CACHE / "models" / f"{rec.name}.pt"
    figures_path = path.with_suffix(".train.json")
    if path.exists() and figures_path.exists():
        return path, json.loads(figures_path.read_text())
    path.parent.mkdir(parents=True, exist_ok=True)
    log(f"{rec.name}: training up to {rec.steps} steps")
    t0 = time.time()
    trajectory: list[list[float]] = []

    def stop(step: int, figures: dict[str, float]) -> bool:
        if rec.shortcut is None:
            return False
        trajectory.append([step, figures["clean_acc"], figures[shortcut_key(rec.shortcut)]])
        return step >= 100 and realistic(figures, rec.shortcut)

    model = train_classifier(rec, rec.steps, log, eval_every=EVAL_EVERY, stop=stop)
    figures = evaluate_classifier(model, load_generator(shipped_generator()), rec)
    steps = int(trajectory[-1][0]) if trajectory else rec.steps
    save_classifier(model, rec, steps, path, trained_by="benchmarks/validity/planted_suite.py")
    figures.update(
        train_seconds=time.time() - t0,
        label_reliability=rec.label_reliability,
        correlation=rec.correlations[0] if rec.correlations else None,
        steps=steps,
        trajectory=trajectory,
    )
    atomic_write_text(figures_path, json.dumps(figures, indent=1))  # a kill leaves no half file
    log(f"{rec.name}: { ({k: v for k, v in figures.items() if k != 'trajectory'}) }")
    return path, figures


def shortcut_key(attr: str) -> str:
    return f"acc_where_{attr}_disagrees"


def realistic(figures: dict, attr: str) -> bool:
    return figures["clean_acc"] >= CLEAN_MIN and figures[shortcut_key(attr)] <= SHORTCUT_MAX


def tune(arch: str, label: str, attr: str, log: Log) -> tuple[Path, dict, list[dict]]:
    """Train from the demo's level and move along LEVELS until the model is realistic (at most
    MAX_TRIES models). Returns the last model tried (realistic or not), its figures, and every
    try's figures.
    """
    made: dict[tuple[float, float], tuple[Path, dict]] = {}

    def figures_at(level: tuple[float, float]) -> dict:
        made[level] = train(recipe(arch, label, attr, level), log)
        return made[level][1]

    order = list(levels(figures_at, attr))
    path, figures = made[order[-1]]
    return path, figures, [made[lv][1] for lv in order]


def levels(figures_at, attr: str):  # noqa: ANN001, ANN201
    """The LEVELS `tune` tries, in order; figures_at(level) gives a try's figures.

    A bisection: a model that ends without using the shortcut (accuracy where it disagrees >
    0.85) bounds the pull from below, one that uses it but never at clean accuracy >= 0.9 from
    above; the next try is the level halfway between the bounds.
    """
    weak, strong, i = -1, len(LEVELS), FIRST
    for _ in range(MAX_TRIES):
        yield LEVELS[i]
        figures = figures_at(LEVELS[i])
        if figures is None or realistic(figures, attr):
            return
        if figures[shortcut_key(attr)] > SHORTCUT_MAX:
            weak = i
        else:
            strong = i
        if strong - weak <= 1:
            return
        i = (weak + strong + 1) // 2 if weak >= 0 else (weak + strong) // 2


def audit(path: Path, log: Log) -> AuditData:
    """Audit one model with the suite policy (or reuse the cached per-probe arrays)."""
    out = path.with_suffix(".audit.json")
    if not out.exists():
        policy_path = CACHE / "suite-policy.yaml"  # written once, by main()
        t0 = time.time()
        r = run(str(path), load_policy(policy_path), policy_path, device="cpu").result
        probes = r.main.probes
        sens = r.sensitivity
        assert None not in (probes.delta, probes.effects, probes.path_a, probes.path_x)
        data = {
            "attr_names": list(r.attr_names),
            "excluded": list(r.frozen) + list(sens.unmeasurable),
            "probe_names": list(probes.names),
            "delta": probes.delta.double().tolist(),
            "effects": probes.effects.double().tolist(),
            "path_a": probes.path_a.double().tolist(),
            "path_x": probes.path_x.double().tolist(),
            "loss_start": probes.loss_start.double().tolist(),
            "loss_adv": probes.loss_adv.double().tolist(),
            "clean_acc": r.clean_accuracy.value,
            "recon_acc": r.reconstruction_accuracy.value,
            "audit_seconds": time.time() - t0,
        }
        atomic_write_text(out, json.dumps(data))
        took, acc = data["audit_seconds"], data["clean_acc"]
        log(f"{path.name}: audited in {took:.0f}s, clean acc {acc:.3f}")
    return AuditData.from_json(json.loads(out.read_text()))


def plants_done(archs: list[str], labels: list[str], log: Log, train_new: bool) -> list[dict]:
    """Every plant of the grid, trained and audited where asked (or found in the cache)."""
    rows = []
    for arch in archs:
        for label in labels:
            control_path, control_fig = (
                train(recipe(arch, label, None, LEVELS[FIRST]), log)
                if train_new
                else cached(recipe(arch, label, None, LEVELS[FIRST]))
            )
            if control_path is None:
                continue
            control = audit(control_path, log) if train_new else cached_audit(control_path)
            for attr in SHORTCUTS[label]:
                if train_new:
                    path, figures, tries = tune(arch, label, attr, log)
                else:
                    path, figures, tries = cached_tries(arch, label, attr)
                    if path is None:
                        continue
                biased = audit(path, log) if train_new else cached_audit(path)
                if biased is None or control is None:
                    continue
                rows.append({"arch": arch, "label": label, "attr": attr, "figures": figures,
                             "tries": tries, "biased": biased, "control": control})  # fmt: skip
    return rows


def cached(rec: ClassifierRecipe) -> tuple[Path | None, dict | None]:
    path = CACHE / "models" / f"{rec.name}.pt"
    fig = path.with_suffix(".train.json")
    return (path, json.loads(fig.read_text())) if fig.exists() else (None, None)


def cached_audit(path: Path) -> AuditData | None:
    out = path.with_suffix(".audit.json")
    return AuditData.from_json(json.loads(out.read_text())) if out.exists() else None


def cached_tries(arch: str, label: str, attr: str) -> tuple[Path | None, dict | None, list]:
    """The tuning's tries as `tune` made them, from the cache alone (None: not trained yet)."""
    found = {}

    def figures_at(level: tuple[float, float]) -> dict | None:
        found[level] = cached(recipe(arch, label, attr, level))
        return found[level][1]

    order = [lv for lv in list(levels(figures_at, attr)) if found[lv][0] is not None]
    if not order:
        return None, None, []
    path, figures = found[order[-1]]
    return path, figures, [found[lv][1] for lv in order]


def fmt(v: tuple[float, float, float]) -> str:
    return f"{v[0]:.3f} [{v[1]:.3f}, {v[2]:.3f}]"


def tables(rows: list[dict]) -> str:
    """The per-plant table and the per-figure scores, as markdown."""
    lines = [
        "| arch | label | planted | r, p | steps | clean acc | acc where it disagrees | counted "
        + "".join(f"| rank {f} " for f in FIGURES)
        + "| path_share biased - control, paired |",
        "|---|---|---|---|---|---|---|---" + "|---" * len(FIGURES) + "|---|",
    ]
    counted = []
    for row in rows:
        fig, attr = row["figures"], row["attr"]
        ok = realistic(fig, attr)
        b, c = row["biased"], row["control"]
        if ok:
            counted.append(Plant(f"{row['arch']} {row['label']} {attr}", attr, b, c, row["label"]))
        ranks = "".join(f"| {rank(b, f, attr)} " for f in FIGURES)
        lines.append(
            f"| {row['arch']} | {row['label']} | {attr} | {fig['label_reliability']:g}, "
            f"{fig['correlation'].rsplit('@', 1)[1]} | {fig['steps']} "
            f"| {fig['clean_acc']:.3f} | {fig[shortcut_key(attr)]:.3f} "
            f"| {'yes' if ok else 'no'} {ranks}"
            f"| {fmt(paired_interval(b, c, 'path_share', attr))} |"
        )
    lines += [
        "",
        f"{len(counted)} of {len(rows)} plants realistic and counted.",
    ]
    header = [
        "",
        "| figure | rank 1st | top 3 | paired interval above 0 | AUC biased vs control "
        "| caught above every control's largest value (that ceiling) "
        "| caught by a confident gate that fails no control (its max) "
        "| caught by a gate per label that fails none of its label's controls |",
        "|---|---|---|---|---|---|---|---|",
    ]
    controls = list({id(row["control"]): row["control"] for row in rows}.values())
    label_controls: dict[str, list] = {}  # label_thresholds drops the repeats
    for row in rows:
        label_controls.setdefault(row["label"], []).append(row["control"])
    held_out = [p for p in counted if p.name not in W_CHOSEN_ON]
    for title, plants in (("All counted plants:", counted), ("Held out:", held_out)):
        note = f"(w was chosen on the {len(W_CHOSEN_ON)} counted by 2026-12-01 00:17 UTC)"
        lines += ["", f"{title} {len(plants)} {note}", *header]
        for f in FIGURES:
            sc = score(plants, f, controls, label_controls)
            if sc:
                lines.append(
                    f"| {f} | {sc['top1']:.2f} | {sc['top3']:.2f} "
                    f"| {sc['excludes_zero']:.2f} | {sc['auc']:.3f} "
                    f"| {sc['separated']:.2f} ({sc['control_ceiling']:.3f}) "
                    f"| {sc['gate_caught']:.2f} ({sc['gate_threshold']:.3f}) "
                    f"| {sc['label_gate_caught']:.2f} |"
                )
    for f in ("s", "w"):
        thresholds = label_thresholds(counted, f, label_controls)
        lines += [
            "",
            f"Per-label thresholds of {f} (the lowest confident `max` that fails none of the "
            "label's controls): "
            + ", ".join(f"{k} {v:.3f}" for k, v in sorted(thresholds.items()))
            + ".",
        ]
    return "\n".join(lines)


def main() -> None:
    global CACHE, STEPS  # noqa: PLW0603 (one run, one setting: read by every step above)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", choices=ARCHS, action="append")
    parser.add_argument("--label", choices=sorted(SHORTCUTS), action="append")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--report-only", action="store_true", help="score what is cached")
    parser.add_argument("--steps", type=int, default=STEPS, help="training steps (smoke runs)")
    parser.add_argument("--cache", type=Path, default=CACHE, help="another cache (smoke runs)")
    parser.add_argument("--log", type=Path, default=LOG)
    args = parser.parse_args()
    CACHE, STEPS = args.cache, args.steps
    torch.set_num_threads(args.threads)
    check_generator(CACHE, write=not args.report_only)
    CACHE.mkdir(parents=True, exist_ok=True)  # tables.md goes here, also in a report-only run
    if not args.report_only:
        # Atomic: an --arch cnn and an --arch resnet run may share the cache, one core each.
        atomic_write_text(CACHE / "suite-policy.yaml", SUITE_POLICY)
    log = logger(args.log)
    archs, labels = args.arch or list(ARCHS), args.label or list(SHORTCUTS)
    t0 = time.time()
    if not args.report_only:
        log(f"planted_suite: start, archs {archs}, labels {labels}")
        plants_done(archs, labels, log, train_new=True)
        log(f"planted_suite: trained and audited in {time.time() - t0:.0f}s")
    text = tables(plants_done(archs, labels, log, train_new=False))
    (CACHE / "tables.md").write_text(text + "\n")
    print(text)


if __name__ == "__main__":
    main()
