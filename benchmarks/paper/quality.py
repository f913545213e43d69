"""The paper's Table 1 on synthfaces: image quality of SIA and SPT adversaries.

SPT (attributes only, raw gradients with RMSprop), SIA attribute-only (`attr`: signed steps in
attribute space) and SIA proper (`full`: signed steps in both spaces), each at 50 and 200 steps
and at the paper's two step sizes eta = 0.25/255 and 4/255 (for the image and the attributes
alike), eps_x 1.5/255. PSNR and SSIM of each adversary against the clean face x0 (and against
the reconstruction G(x0, a0), which tells the attack's own change from the generator's), on the
first PROBES probes of the validity pool (builtin synthfaces, seed 1), attacking the demo's
control Eyeglasses classifier (the paper's is a regular Eyeglasses classifier).

    PYTHONPATH=. nice .venv/bin/python -m benchmarks.paper.quality [--report-only]

Per-probe numbers are cached in benchmarks/.cache/validity_pool/ (validity.common.attack_pool);
log: docs/logs/paper_quality.log; the table goes to stdout and benchmarks/.cache/paper/table1.md.
"""

from __future__ import annotations

import argparse
import dataclasses

import torch

from benchmarks import paths
from benchmarks.validity.common import (
    attack_pool,
    log_footer,
    log_header,
    logger,
    policy_config,
    pool,
)
from sia_audit.audit import AuditConfig
from sia_audit.fsutil import atomic_write_text
from sia_audit.metrics import BootstrapConfig, mean_psnr, mean_ssim
from sia_audit.metrics.bootstrap import paired_mean_difference

LOG = paths.LOGS / "paper_quality.log"
TABLE = paths.CACHE / "paper" / "table1.md"
MODEL = "control"
PROBES = 64
VARIANTS = {"spt": "SPT", "attr": "SIA (Attr)", "full": "SIA (Full)"}
STEPS = (50, 200)
ETAS = {"0.25/255": 0.25 / 255, "4/255": 4 / 255}
# The paper's Table 1: (PSNR, SSIM) per eta, variant and steps.
PAPER = {
    "0.25/255": {
        ("spt", 50): (26.63, 0.9083),
        ("attr", 50): (41.98, 0.9929),
        ("full", 50): (42.24, 0.9930),
        ("spt", 200): (19.43, 0.7732),
        ("attr", 200): (31.21, 0.9602),
        ("full", 200): (33.94, 0.9718),
    },
    "4/255": {
        ("spt", 50): (14.18, 0.6385),
        ("attr", 50): (22.36, 0.8573),
        ("full", 50): (28.25, 0.9285),
        ("spt", 200): (13.59, 0.6230),
        ("attr", 200): (20.16, 0.8037),
        ("full", 200): (25.75, 0.8926),
    },
}


def config(variant: str, steps: int, eta: float) -> AuditConfig:
    base = policy_config(baselines=(), effects=False)
    attack = dataclasses.replace(base.attack, variant=variant, steps=steps, eta_x=eta, eta_a=eta)
    return dataclasses.replace(base, attack=attack)


def row(data: dict, b: BootstrapConfig) -> dict[str, float]:
    d = next(iter(v for k, v in data.items() if k != "_meta"))
    return {
        "psnr_x0": mean_psnr(d["psnr_x0"], config=b).value,
        "ssim_x0": mean_ssim(d["ssim_x0"], config=b).value,
        "psnr_recon": mean_psnr(d["psnr_recon"], against="G(x0, a0)", config=b).value,
        "ssim_recon": mean_ssim(d["ssim_recon"], against="G(x0, a0)", config=b).value,
        "mean_abs_delta_a": float((d["a_T"] - d["a0"]).abs().mean()),
        "asr": float(
            (d["correct_clean"].bool() & ~d["correct_adv"].bool()).sum()
            / max(int(d["correct_clean"].sum()), 1)
        ),
    }


def paired(d: dict[str, dict], b: BootstrapConfig) -> str:
    """Attr - SPT and Full - Attr, per probe, for PSNR and SSIM against x0."""
    cells = []
    for f in ("psnr_x0", "ssim_x0"):
        for low, high in (("spt", "attr"), ("attr", "full")):
            e = paired_mean_difference(d[low][f], d[high][f], f"{high} - {low} {f}", b)
            digits = 2 if f.startswith("psnr") else 4
            cells.append(f"{e.value:+.{digits}f} [{e.low:+.{digits}f}, {e.high:+.{digits}f}]")
    return " | ".join(cells)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--report-only", action="store_true", help="tabulate what is cached")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    log = logger(LOG)
    t0 = log_header(log, "paper_quality")
    probes = pool()
    b = BootstrapConfig(resamples=1000, seed=0)
    lines = [
        "| eta | attack | steps | PSNR vs x0 | SSIM vs x0 | PSNR vs G(x0, a0) | "
        "mean abs change of a | ASR | paper: PSNR / SSIM |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    pairs = [
        "",
        "Paired differences per probe (mean [95% bootstrap interval]): the paper's ordering is "
        "SPT < SIA (Attr) < SIA (Full) in both.",
        "",
        "| eta | steps | PSNR: Attr - SPT | PSNR: Full - Attr | SSIM: Attr - SPT "
        "| SSIM: Full - Attr |",
        "|---|---|---|---|---|---|",
    ]
    for eta_name, eta in ETAS.items():
        for steps in STEPS:
            per_probe: dict[str, dict] = {}
            for variant, label in VARIANTS.items():
                data = attack_pool(
                    MODEL,
                    probes,
                    config(variant, steps, eta),
                    stop=PROBES,
                    chunk=PROBES,
                    log=log,
                    cached_only=args.report_only,
                )
                if not data:
                    log(f"{label}-{steps} eta {eta_name}: not cached, left out")
                    continue
                per_probe[variant] = next(v for k, v in data.items() if k != "_meta")
                r = row(data, b)
                psnr, ssim = PAPER[eta_name][(variant, steps)]
                lines.append(
                    f"| {eta_name} | {label} | {steps} | {r['psnr_x0']:.2f} | {r['ssim_x0']:.4f} "
                    f"| {r['psnr_recon']:.2f} | {r['mean_abs_delta_a']:.3f} "
                    f"| {100 * r['asr']:.1f}% | {psnr:.2f} / {ssim:.4f} |"
                )
                log(
                    f"{label}-{steps} eta {eta_name}: PSNR {r['psnr_x0']:.2f} dB SSIM "
                    f"{r['ssim_x0']:.4f} vs x0; mean |a_T - a0| {r['mean_abs_delta_a']:.3f}"
                )
            if len(per_probe) == len(VARIANTS):
                pairs.append(f"| {eta_name} | {steps} | " + paired(per_probe, b) + " |")
    text = "\n".join(lines + pairs) + "\n"
    TABLE.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(TABLE, text)
    print(text)
    log_footer(log, "paper_quality", t0)


if __name__ == "__main__":
    main()
