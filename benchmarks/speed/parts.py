"""What the demo's optional parts cost: its audit as shipped, without the counterfactual flips,
and with the pixel baselines (FGSM, PGD) it no longer runs by default, in one run.

The flips decode every attribute's flip of every probe through the generator and run the target
on each (K + 1 forward passes per probe, no gradients); the baselines attack the target alone at
the same eps_x (FGSM one step, PGD the policy's steps). The demo's audit (policies/fairness.yaml
on the biased demo model) is run in turn in each setting, REPEATS times, in one process after a
warm-up, and each setting's best time is printed beside the shipped one's: this machine is
shared, so only ratios measured side by side mean anything. Goals: the flips cost at most 10%
of the demo; the baselines are what a policy that does not read them saves.

    PYTHONPATH=. .venv/bin/python -m benchmarks.speed.parts [--repeats 3] [--threads 2]
"""

from __future__ import annotations

import argparse
import dataclasses
import time

import torch

from benchmarks import paths
from sia_audit.app.inputs import load
from sia_audit.audit import audit
from sia_audit.policy import load_policy

POLICY = paths.ROOT / "policies" / "fairness.yaml"
MODEL = paths.ROOT / "examples" / "models" / "eyeglasses_biased.pt"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    loaded = load(str(MODEL), load_policy(POLICY), POLICY, device="cpu")
    shipped = loaded.config
    configs = {
        "as shipped": shipped,
        "without flips": dataclasses.replace(shipped, flips=False),
        "with fgsm, pgd": dataclasses.replace(shipped, baselines=("fgsm", "pgd")),
    }

    def once(name: str) -> float:
        t = time.perf_counter()
        audit(loaded.probes, loaded.generator, loaded.target, configs[name],
              classifier=loaded.classifier)  # fmt: skip
        return time.perf_counter() - t

    once("without flips")  # warm-up: first-call costs belong to none
    best = dict.fromkeys(configs, float("inf"))
    for _ in range(args.repeats):
        for name in configs:
            best[name] = min(best[name], once(name))
    base = best["as shipped"]
    print(f"demo audit, best of {args.repeats}, {args.threads} thread(s):")
    for name, seconds in best.items():
        print(f"  {name:<15} {seconds:6.1f} s  {seconds / base:5.2f}x the shipped audit")
    flips = base - best["without flips"]
    print(f"the flips cost {flips:.1f} s: {100 * flips / best['without flips']:.1f}% of the audit")
    pixel = best["with fgsm, pgd"] - base
    print(f"the pixel baselines cost {pixel:.1f} s: {100 * pixel / base:.1f}% on top of it")


if __name__ == "__main__":
    main()
