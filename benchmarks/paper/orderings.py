"""The paper's orderings on the synthetic domain: Table 2 and the Table 3 ablation.

Table 2: attack success rate (ASR) of FGSM, PGD and SIA (variant full) at eps_x 1.5/255, 2/255
and 4/255. Table 3: Full vs A (attr) vs I (image) vs A+PI vs I+PA at the policy's eps_x
(1.5/255), with ASR, PSNR and SSIM, plus the paper's OR row (the reconstruction alone). Both
on the first 256 probes of the validity pool (builtin synthfaces, seed 1), for the demo's
biased and control Eyeglasses models, with the attack settings of policies/fairness.yaml
(50 signed steps, eta_x 1/255, eta_a 4/255; PGD: the same 50 steps of 1/255, no random start;
FGSM: one step of eps_x). ASR as docs/design.md defines it: among probes the model gets right
on x0, the fraction whose adversary it gets wrong, with the policy's 1,000-resample bootstrap
interval.

    PYTHONPATH=. nice -n 10 .venv/bin/python -m benchmarks.paper.orderings

Per-probe results are cached in benchmarks/.cache/validity_pool/ (validity.common.attack_pool).
Log: docs/logs/validity_paper_tables.log; plot: docs/validity-success-vs-eps.png.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from benchmarks import paths
from benchmarks.validity.common import (
    ABLATION,
    EPS_GRID,
    TABLE_PROBES,
    Log,
    attack_pool,
    log_footer,
    log_header,
    logger,
    policy_config,
    pool,
    table3_config,
    table_runs,
)
from benchmarks.validity.plots import Interval, LinePanel, line_chart
from sia_audit.metrics import (
    BootstrapConfig,
    attack_success_rate,
    mean_psnr,
    mean_ssim,
)
from sia_audit.metrics.estimate import Estimate
from sia_audit.probes.synthetic import SynthProbes

LOG = paths.LOGS / "validity_paper_tables.log"
PLOT = paths.ROOT / "docs" / "validity-success-vs-eps.png"
MODELS = ("biased", "control")
LABELS = {
    "OR": "OR (reconstruction)",
    "full": "Full",
    "attr": "A",
    "image": "I",
    "attr+partial-image": "A+PI",
    "image+partial-attr": "I+PA",
}
# The paper's figures for its Eyeglasses classifier (Tables 2 and 3), for the comparison.
PAPER_T2 = {1.5: (28.01, 49.85, 68.20), 2.0: (42.83, 87.79, 94.82), 4.0: (78.90, 99.94, 99.99)}
PAPER_T3 = {
    "OR": 0.02,
    "image": 1.83,
    "image+partial-attr": 18.25,
    "attr": 32.67,
    "attr+partial-image": 44.26,
    "full": 68.20,
}


def triple(e: Estimate) -> list[float]:
    return [100 * e.value, 100 * e.low, 100 * e.high]


def quality(d: dict, b: BootstrapConfig) -> dict:
    """Mean PSNR/SSIM of the adversaries against x0 and (generator attacks) against G(x0, a0)."""
    out = {
        "psnr_x0": mean_psnr(d["psnr_x0"], config=b).value,
        "ssim_x0": mean_ssim(d["ssim_x0"], config=b).value,
    }
    if "psnr_recon" in d:
        out["psnr_recon"] = mean_psnr(d["psnr_recon"], against="G(x0, a0)", config=b).value
        out["ssim_recon"] = mean_ssim(d["ssim_recon"], against="G(x0, a0)", config=b).value
    return out


def figures_of(d: dict, name: str, b: BootstrapConfig) -> dict:
    asr = attack_success_rate(
        d["correct_clean"].bool(), d["correct_adv"].bool(), attack=name, config=b
    )
    out = {"asr": triple(asr), "n_correct_x0": asr.n} | quality(d, b)
    if "a_T" in d:
        out["mean_abs_delta"] = float((d["a_T"] - d["a0"]).abs().mean())
    return out


def runs(model: str, eps: float, probes: SynthProbes, log: Log, cached_only: bool) -> dict | None:
    """Per-probe data of SIA, FGSM and PGD at eps (validity.common.table_runs); None if a run
    is not (fully) cached and `cached_only` is set."""
    data: dict = {}
    for config, only in table_runs(eps):
        part = attack_pool(
            model, probes, config, stop=TABLE_PROBES, log=log, only=only, cached_only=cached_only
        )
        if (
            not part
            or len(part["full" if "full" in part else "fgsm"]["correct_adv"]) < TABLE_PROBES
        ):
            return None
        data |= {k: v for k, v in part.items() if k != "_meta"}
    return data


def table2(
    model: str, probes: SynthProbes, b: BootstrapConfig, log: Log, cached_only: bool
) -> dict:
    rows = {}
    for eps in EPS_GRID:
        key = round(eps * 255, 2)
        data = runs(model, eps, probes, log, cached_only)
        if data is None:
            log(f"T2 {model} eps {key}/255: not cached, left out")
            continue
        rows[key] = {name: figures_of(data[name], name, b) for name in ("fgsm", "pgd", "full")}
        r = rows[key]
        log(
            f"T2 {model} eps {key}/255: ASR % FGSM {fmt(r['fgsm']['asr'])}, PGD "
            f"{fmt(r['pgd']['asr'])}, SIA {fmt(r['full']['asr'])} "
            f"(n right on x0 {r['full']['n_correct_x0']})"
        )
    return rows


def fmt(e: list[float]) -> str:
    return f"{e[0]:.1f} [{e[1]:.1f}, {e[2]:.1f}]"


def reconstruction_row(data: dict, b: BootstrapConfig) -> list[float]:
    """The paper's OR: among probes right on x0, the fraction wrong on G(x0, a0) alone."""
    d = data["full"]
    e = attack_success_rate(
        d["correct_clean"].bool(), d["correct_start"].bool(), attack="the reconstruction", config=b
    )
    return triple(e)


def table3(
    model: str, probes: SynthProbes, b: BootstrapConfig, log: Log, cached_only: bool
) -> dict:
    base = runs(model, EPS_GRID[0], probes, log, cached_only)
    if base is None:
        log(f"T3 {model}: SIA at eps 1.5/255 not cached, left out")
        return {}
    rows = {"OR": {"asr": reconstruction_row(base, b)}, "full": figures_of(base["full"], "full", b)}
    for variant in ABLATION:
        data = attack_pool(
            model,
            probes,
            table3_config(variant),
            stop=TABLE_PROBES,
            log=log,
            cached_only=cached_only,
        )
        if not data or len(data[variant]["correct_adv"]) < TABLE_PROBES:
            log(f"T3 {model} {variant}: not cached, left out")
            continue
        rows[variant] = figures_of(data[variant], variant, b)
    log(
        f"T3 {model} eps 1.5/255: ASR % "
        + ", ".join(f"{LABELS.get(k, k)} {fmt(v['asr'])}" for k, v in rows.items())
    )
    return rows


def compare(low: list[float], high: list[float]) -> str:
    """'yes (apart)' when high's interval lies above low's, 'yes' for the points only, or 'no'."""
    if high[0] <= low[0]:
        return "no"
    return "yes (apart)" if high[1] > low[2] else "yes (overlap)"


def ordering(rows: dict) -> dict[str, str]:
    """Per eps: FGSM < PGD and PGD < SIA, for the points and their intervals."""
    out = {}
    for eps, r in rows.items():
        f, p, s = (r[k]["asr"] for k in ("fgsm", "pgd", "full"))
        out[f"{eps} FGSM<PGD"] = compare(f, p)
        out[f"{eps} PGD<SIA"] = compare(p, s)
    return out


def table2_markdown(t2: dict, orders: dict) -> list[str]:
    lines = [
        "| model | eps_x | FGSM | PGD | SIA (full) | FGSM < PGD | PGD < SIA "
        "| paper, Eyeglasses: FGSM / PGD / SIA |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for model, rows in t2.items():
        for eps, r in rows.items():
            paper = " / ".join(f"{v:.1f}" for v in PAPER_T2[eps])
            lines.append(
                f"| {model} | {eps:g}/255 | {fmt(r['fgsm']['asr'])} | {fmt(r['pgd']['asr'])} "
                f"| {fmt(r['full']['asr'])} | {orders[model][f'{eps} FGSM<PGD']} "
                f"| {orders[model][f'{eps} PGD<SIA']} | {paper} |"
            )
    return lines


def table3_markdown(t3: dict) -> list[str]:
    lines = [
        "| variant | model | ASR % | PSNR vs x0 / vs G(x0, a0) | SSIM vs x0 / vs G(x0, a0) "
        "| mean abs(a_T - a0) | paper ASR %, Eyeglasses |",
        "|---|---|---|---|---|---|---|",
    ]
    for variant in ("OR", "image", "image+partial-attr", "attr", "attr+partial-image", "full"):
        for model, rows in t3.items():
            if variant not in rows:
                continue
            r = rows[variant]
            label = LABELS.get(variant, variant)
            if variant == "OR":
                quality = "- | - | -"
            else:
                quality = (
                    f"{r['psnr_x0']:.1f} / {r['psnr_recon']:.1f} "
                    f"| {r['ssim_x0']:.3f} / {r['ssim_recon']:.3f} | {r['mean_abs_delta']:.3f}"
                )
            lines.append(
                f"| {label} | {model} | {fmt(r['asr'])} | {quality} | {PAPER_T3[variant]:.2f} |"
            )
    return lines


def plot(t2: dict, path: Path) -> None:
    panels = []
    for model, rows in t2.items():
        eps = tuple(rows)
        panels.append(
            LinePanel(
                f"{model} model",
                tuple(float(e) for e in eps),
                tuple(f"{e:g}/255" for e in eps),
                ("FGSM", "PGD", "SIA (full)"),
                tuple(
                    tuple(Interval(*rows[e][k]["asr"]) for e in eps)
                    for k in ("fgsm", "pgd", "full")
                ),
            )
        )
    line_chart(
        panels,
        path,
        f"Attack success rate vs eps_x ({TABLE_PROBES} synthfaces probes, seed 1)",
        "ASR (%) among probes right on x0; x: eps_x. Whiskers: 95% bootstrap intervals.",
        note="50 signed steps of eta_x 1/255 (PGD, SIA), eta_a 4/255 (SIA); FGSM one step.",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--cached-only", action="store_true", help="leave out runs that are not cached"
    )
    args = parser.parse_args()
    torch.set_num_threads(1)
    log = logger(LOG)
    t0 = log_header(log, "validity_paper_tables")
    probes = pool()
    b = policy_config().bootstrap
    log(f"probes: first {TABLE_PROBES} of {probes!r}; bootstrap {b}")
    t2 = {m: table2(m, probes, b, log, args.cached_only) for m in MODELS}
    t3 = {m: table3(m, probes, b, log, args.cached_only) for m in MODELS}
    orders = {m: ordering(t2[m]) for m in MODELS}
    log(f"FGSM < PGD < SIA: {orders}")
    for line in table2_markdown(t2, orders) + [""] + table3_markdown(t3):
        log(line)
    out = paths.CACHE / "validity_paper_tables.json"
    out.write_text(json.dumps({"table2": t2, "table3": t3, "ordering": orders}, indent=1))
    log(f"figures: {out.relative_to(paths.ROOT)}")
    done = {m: rows for m, rows in t2.items() if rows}
    if done:
        plot(done, PLOT)
        log(f"plot: {PLOT.relative_to(paths.ROOT)}")
    log_footer(log, "validity_paper_tables", t0)


if __name__ == "__main__":
    main()
