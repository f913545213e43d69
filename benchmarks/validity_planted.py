"""Planted truth (issue 8): does SIA rank a planted shortcut first, against a clean control?

For each planted attribute A, an Eyeglasses classifier is trained with the demo's biased recipe
(scripts.training.classifier): A comes exactly with the "Eyeglasses" label and the drawn
glasses agree with the label on 95% of the training faces, so A predicts the labels better
than the glasses do. Every biased model and the shipped decorrelated control
(examples/models/eyeglasses_control.pt, same architecture, truthful labels, no planted
attribute) are audited with policies/fairness.yaml. Reported per A: the shortcut check from
training, clean accuracy, A's rank in the biased model's s histogram and in its attribute
effects, and the paired (by probe) biased-minus-control difference of s[A] with its bootstrap
interval.

    .venv/bin/python benchmarks/validity_planted.py [--only A] [--steps N]

Models and audit figures are cached in benchmarks/.cache/validity/ (a rerun skips what is
there); the log goes to docs/logs/validity_planted.log, the table to stdout.
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from pathlib import Path

import torch

from scripts.training import (
    ClassifierRecipe,
    evaluate_classifier,
    logger,
    save_classifier,
    shipped_generator,
    train_classifier,
)
from sia_audit.app.run import run
from sia_audit.generators.checkpoint import load_generator
from sia_audit.metrics.sensitivity import sensitivity_difference
from sia_audit.policy.loading import load_policy
from sia_audit.probes.synthetic import SynthProbes

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "benchmarks" / ".cache" / "validity"
LOG = ROOT / "docs" / "logs" / "validity_planted.log"
POLICY = ROOT / "policies" / "fairness.yaml"
CONTROL = ROOT / "examples" / "models" / "eyeglasses_control.pt"
LABEL = "Eyeglasses"
# Varied regions of the face: mouth, scalp, forehead, hair colour, skin, age.
PLANTED = ("Mustache", "Bald", "Bangs", "Blond_Hair", "Pale_Skin", "Young")


def recipe_for(attr: str, steps: int) -> ClassifierRecipe:
    return ClassifierRecipe(
        f"planted_{attr.lower()}",
        LABEL,
        (f"{LABEL}->{attr}@1.0",),
        ((attr, 0.0),),
        seed=1,
        steps=steps,
        label_reliability=0.95,
        shortcut=attr,
    )


def train_biased(attr: str, steps: int, cache: Path, log) -> Path:  # noqa: ANN001
    """Train (or reuse) the biased model for attr; its training figures go beside it."""
    recipe = recipe_for(attr, steps)
    path = cache / f"{recipe.name}.pt"
    if path.exists() and path.with_suffix(".train.json").exists():
        log(f"{attr}: cached model {path}")
        return path
    log(f"{attr}: training {steps} steps, {recipe}")
    t0 = time.time()
    model = train_classifier(recipe, steps, log)
    figures = evaluate_classifier(model, load_generator(shipped_generator()), recipe)
    model.eval()  # traced in eval mode: batch-norm uses its running statistics
    save_classifier(model, recipe, steps, path, trained_by="benchmarks/validity_planted.py")
    tracked = {int(m.num_batches_tracked) for m in model.modules() if hasattr(m, "running_mean")}
    assert tracked == {steps}, f"batch-norm statistics moved after training: {tracked}"
    figures["train_seconds"] = time.time() - t0
    path.with_suffix(".train.json").write_text(json.dumps(figures, indent=1))
    log(f"{attr}: wrote {path} ({figures['train_seconds']:.0f}s) {figures}")
    return path


def audit_model(path: Path, log) -> dict:  # noqa: ANN001
    """Audit with the fairness policy (or reuse the cached figures): per-probe |delta| kept."""
    out = path.with_suffix(".audit.json")
    if out.exists():
        log(f"{path.name}: cached audit {out}")
        return json.loads(out.read_text())
    log(f"{path.name}: auditing with {POLICY.relative_to(ROOT)}")
    t0 = time.time()
    outcome = run(str(path), load_policy(POLICY), POLICY, device="cpu")
    r = outcome.result
    main = r.main.probes
    assert main.delta is not None and r.effects is not None
    sens = r.sensitivity
    data = {
        "clean_acc": r.clean_accuracy.value,
        "recon_acc": r.reconstruction_accuracy.value,
        "attr_names": list(r.attr_names),
        "frozen": list(r.frozen),
        "probe_names": list(main.names),
        "delta": main.delta.double().tolist(),
        "s_attributes": list(sens.attributes),
        "s": [[e.value, e.low, e.high] for e in sens.s],
        "effect_attributes": list(r.effects.attributes),
        "effect": [[e.value, e.low, e.high] for e in r.effects.effect],
        "audit_seconds": time.time() - t0,
    }
    out.write_text(json.dumps(data))
    log(f"{path.name}: audited in {data['audit_seconds']:.0f}s, clean acc {data['clean_acc']:.3f}")
    return data


def rank(values: list[list[float]], names: list[str], name: str) -> int:
    """1 = largest value."""
    v = values[names.index(name)][0]
    return 1 + sum(1 for row in values if row[0] > v)


def control_shortcut_check(attr: str) -> float:
    """The control's accuracy where attr disagrees with the label (same held-out faces)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.jit's deprecation notice
        model = torch.jit.load(str(CONTROL))
    figures = evaluate_classifier(model, load_generator(shipped_generator()), recipe_for(attr, 1))
    return figures[f"acc_where_{attr}_disagrees"]


def row_for(attr: str, biased: dict, control: dict, train_fig: dict) -> dict:
    names = biased["s_attributes"]
    assert names == control["s_attributes"] and biased["attr_names"] == control["attr_names"]
    included = [a not in biased["frozen"] for a in biased["attr_names"]]
    diff = sensitivity_difference(
        torch.tensor(control["delta"], dtype=torch.float64),
        torch.tensor(biased["delta"], dtype=torch.float64),
        included,
        names=biased["attr_names"],
        base_ids=control["probe_names"],
        head_ids=biased["probe_names"],
        config=run_bootstrap(),
    )
    d = diff.s[diff.attributes.index(attr)]
    top = max(range(len(names)), key=lambda j: biased["s"][j][0])
    return {
        "attr": attr,
        "shortcut_acc": train_fig[f"acc_where_{attr}_disagrees"],
        "control_shortcut_acc": control_shortcut_check(attr),
        "train_clean_acc": train_fig["clean_acc"],
        "probe_clean_acc": biased["clean_acc"],
        "rank_s": rank(biased["s"], names, attr),
        "rank_s_control": rank(control["s"], names, attr),
        "top_s": f"{names[top]} {biased['s'][top][0]:.3f}",
        "s_biased": biased["s"][names.index(attr)],
        "s_control": control["s"][names.index(attr)],
        "diff": [d.value, d.low, d.high],
        "rank_effect": rank(biased["effect"], biased["effect_attributes"], attr),
        "effect": biased["effect"][biased["effect_attributes"].index(attr)],
        "n_hist": len(names),
    }


def split_by_agreement(attr: str, data: dict) -> tuple[int, float, float, float]:
    """Probes where attr's on-state agrees with the label: count, mean |delta[attr]| there and
    elsewhere, and the room to the range edge (in attr's current direction) elsewhere."""
    probes = SynthProbes(count=64, seed=0, size=64)  # policies/fairness.yaml's probes
    assert list(probes.names) == data["probe_names"]
    a0 = probes.attrs[:, data["attr_names"].index(attr)]
    label_on = probes.attrs[:, data["attr_names"].index(LABEL)] > 0.5
    agree = (a0 > 0.5) == label_on
    d = torch.tensor(data["delta"])[:, data["attr_names"].index(attr)].abs()
    room = torch.where(a0 > 0.5, 1 - a0, a0)
    return (
        int(agree.sum()),
        float(d[agree].mean()),
        float(d[~agree].mean()),
        float(room[~agree].mean()),
    )


def run_bootstrap():  # noqa: ANN201
    from sia_audit.app.inputs import bootstrap_config

    return bootstrap_config(load_policy(POLICY))


def fmt(e: list[float]) -> str:
    return f"{e[0]:.3f} [{e[1]:.3f}, {e[2]:.3f}]"


def table(rows: list[dict]) -> str:
    head = (
        "| planted A | acc where A disagrees (biased / control) | clean acc (held-out / probes) "
        "| rank of s[A] (biased / control) | largest s (biased) | s[A] biased | s[A] control "
        "| biased - control, paired | rank of effect[A] |\n"
        "|---|---|---|---|---|---|---|---|---|"
    )
    lines = [head]
    for r in rows:
        d = r["diff"]
        excl = d[1] > 0 or d[2] < 0
        lines.append(
            f"| {r['attr']} | {r['shortcut_acc']:.3f} / {r['control_shortcut_acc']:.3f} "
            f"| {r['train_clean_acc']:.3f} / {r['probe_clean_acc']:.3f} "
            f"| {r['rank_s']} / {r['rank_s_control']} of {r['n_hist']} | {r['top_s']} "
            f"| {fmt(r['s_biased'])} | {fmt(r['s_control'])} "
            f"| {'**' if excl else ''}{fmt(d)}{'**' if excl else ''} "
            f"| {r['rank_effect']} ({r['effect'][0]:.3f}) |"
        )
    n1 = sum(r["rank_s"] == 1 for r in rows)
    nz = sum(r["diff"][1] > 0 or r["diff"][2] < 0 for r in rows)
    lines.append("")
    lines.append(
        f"rank 1 in {n1} of {len(rows)} (goal >= 5 of 6); "
        f"interval excluding zero in {nz} of {len(rows)} (goal 6 of 6)"
    )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", choices=PLANTED, action="append")
    parser.add_argument("--steps", type=int, default=500, help="training steps (500 = the demo)")
    parser.add_argument("--cache", type=Path, default=CACHE)
    parser.add_argument("--log", type=Path, default=LOG)
    args = parser.parse_args()
    torch.set_num_threads(2)
    cache: Path = args.cache
    cache.mkdir(parents=True, exist_ok=True)
    log = logger(args.log)
    t0 = time.time()
    log(f"validity_planted: start, attributes {args.only or PLANTED}, steps {args.steps}")
    control = audit_model(copy_control(cache), log)
    rows = []
    for attr in args.only or PLANTED:
        path = train_biased(attr, args.steps, cache, log)
        biased = audit_model(path, log)
        train_fig = json.loads(path.with_suffix(".train.json").read_text())
        row = row_for(attr, biased, control, train_fig)
        n_agree, on_agree, on_disagree, room = split_by_agreement(attr, biased)
        row["agreement"] = [n_agree, on_agree, on_disagree, room]
        rows.append(row)
        log(
            f"{attr}: rank s {row['rank_s']}, s {fmt(row['s_biased'])} vs control "
            f"{fmt(row['s_control'])}, paired diff {fmt(row['diff'])}, rank effect "
            f"{row['rank_effect']}; {n_agree}/64 probes where {attr} agrees with the label: "
            f"|delta| {on_agree:.3f} there, {on_disagree:.3f} elsewhere (room to the range "
            f"edge there {room:.3f})"
        )
        (cache / "rows.json").write_text(json.dumps(rows, indent=1))
    text = table(rows)
    for line in text.splitlines():
        log(line)
    log(f"validity_planted: done in {time.time() - t0:.0f}s")


def copy_control(cache: Path) -> Path:
    """The shipped control, copied so its audit is cached beside the biased models."""
    dst = cache / "control.pt"
    if not dst.exists():
        dst.write_bytes(CONTROL.read_bytes())
    return dst


if __name__ == "__main__":
    main()
