"""What the counterfactual flips cost: the demo's audit with and without them, in one run.

The flips decode every attribute's flip of every probe through the generator and run the target
on each (K + 1 forward passes per probe, no gradients). The demo's audit (policies/fairness.yaml
on the biased demo model) is run alternately with `flips` on and off, REPEATS times each, in one
process after a warm-up, and the ratio of the best times is printed: this machine is shared, so
only ratios measured side by side mean anything. Goal: the flips cost at most 10% of the demo.

    PYTHONPATH=. .venv/bin/python -m benchmarks.speed.flips [--repeats 3] [--threads 2]
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
    configs = {on: dataclasses.replace(loaded.config, flips=on) for on in (True, False)}

    def once(on: bool) -> float:
        t = time.perf_counter()
        audit(loaded.probes, loaded.generator, loaded.target, configs[on],
              classifier=loaded.classifier)  # fmt: skip
        return time.perf_counter() - t

    once(False)  # warm-up: first-call costs belong to neither
    best = {True: float("inf"), False: float("inf")}
    for _ in range(args.repeats):
        for on in (True, False):
            best[on] = min(best[on], once(on))
    extra = best[True] - best[False]
    print(f"demo audit without flips {best[False]:.1f} s, with flips {best[True]:.1f} s "
          f"(best of {args.repeats}, {args.threads} threads)")  # fmt: skip
    print(f"the flips cost {extra:.1f} s: {100 * extra / best[False]:.1f}% of the audit")


if __name__ == "__main__":
    main()
