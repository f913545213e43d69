"""Every default of an audit, in one place.

The Python API (`AttackConfig()`, `AuditConfig()`, `BootstrapConfig()`, the editability check)
and a policy file that leaves a key out read these same values, so that `audit(...)` without a
config and `sia-audit run` on an empty policy run the same attacks and draw the same intervals.
Change a default here and both change.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

# Named step schedules of the attack. `paper` is the SIA paper's own (T = 200 steps of
# eta = 0.25/255); `ci` moves as far in total (T * eta) in a quarter of the steps, which is what
# a gate run on every pull request can afford (the same budget at 4x the speed). Keys a policy
# sets win over its preset's; `AttackConfig.preset(name, ...)` does the same in Python.
PRESETS: Mapping[str, Mapping[str, int | float]] = MappingProxyType(
    {
        "ci": MappingProxyType(
            {"steps": 50, "eta_x": 1 / 255, "eta_a": 1 / 255, "eps_x": 1.5 / 255,
             "partial_steps": 20}
        ),
        "paper": MappingProxyType(
            {"steps": 200, "eta_x": 0.25 / 255, "eta_a": 0.25 / 255, "eps_x": 1.5 / 255,
             "partial_steps": 20}
        ),
    }
)  # fmt: skip
PRESET = "ci"  # the schedule of `AttackConfig()` and of a policy that names no preset

VARIANT = "full"  # the main attack: SIA proper, attributes and image at every step
# Pixel attacks at the same eps_x, for comparison: none unless a policy lists them, a gate
# names them, or a validity flag set to `fail` reads them (`Policy.pixel_baselines`).
BASELINES: tuple[str, ...] = ()
# What the validity flags read when the baselines ran (gates.flags).
FLAG_BASELINES: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {"pgd_weaker_than_fgsm": ("fgsm", "pgd"), "pixel_level_failures": ("fgsm",)}
)
BATCH_SIZE = 32  # probes per batch: bounds memory, never changes a figure
SUBPOPULATIONS = ("Male",)  # binary attributes the sensitivity is split by
# An attribute whose expression rate (the share of probes where flipping it moves the attribute
# classifier across 0.5 the right way) is below this is unmeasurable with the generator.
MIN_EXPRESSION = 0.8
# An attribute whose flip moves the classifier's probability of the target's label by more than
# this on average, over the probes that have the label or over those that do not (the larger),
# changes the label itself, not only a feature: a truthful model's answer follows it, so the
# flip figures leave it out (docs/validity.md, rounds 5 and 11). Chosen on the held-out suite's
# ten seen rounds: every planted shortcut leaked at most 0.066 into its label; from 0.066 to
# 0.079 the report's lead ranks the most plants first (28 of 32).
MAX_LABEL_LEAK = 0.07
# A class of the label (the probes with it, or without it) smaller than this does not count in
# that average: on a few probes one large move would decide it. The held-out suite's smallest
# class is 20 of its 256 probes (Bald), so this changes none of its figures; of a policy's 64
# probes a label on 5% of faces has about 3.
MIN_LEAK_CLASS = 8
# The loss change (in the task's loss units: nats for the classifiers' cross-entropy) from which
# a flip counts a probe in full in the moved share, the figure a report leads with where there is
# no push (targets that are not binary, reports before it). Chosen on the held-out suite's twelve
# seen rounds: at 0.08-0.3 it ranks 37-38 of 39 planted shortcuts first (0.2: 37, every one in
# the top 3), the flip rate 34, the flip loss without a bound 34.
MOVE = 0.2
# The signed loss change from which a flip counts a probe in full in the push, the figure a
# binary target's report leads with (a move toward the positive answer counts +1, away -1).
# Chosen on the held-out suite's fourteen seen rounds: from 0.01 to 0.1 it ranks all 45 planted
# shortcuts first (the moved share 42), 0.05 most steadily (in 99.8% of bootstrap resamples of
# the probes on average, and in at least 94% of them for every plant).
PUSH_MOVE = 0.05

# Probes of a policy that names no count: the count fairness.yaml's regression section was
# chosen at on the held-out suite's eleven seen rounds (138 of 140 planted comparisons caught,
# none of 160 truthful seed pairs failed); at 128 it caught 70 of 70 and failed 1 of 80, since a
# small real difference between two seeds can become sure (docs/logs/heldout_rounds.log).
PROBE_COUNT = 64

# The percentile bootstrap over probes behind every interval.
BOOTSTRAP_RESAMPLES = 1000
BOOTSTRAP_SEED = 0
BOOTSTRAP_LEVEL = 0.95

# Execution options, off unless asked for (bf16 changes the last digits of the figures).
AUTOCAST_BF16 = False
TORCH_COMPILE = False
CUDA_GRAPHS = False
