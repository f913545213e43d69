"""Fill the per-probe cache of the validity benchmarks in the order that matters most.

The stability pool of the biased model (2,048 probes), then the paper-table runs of the control
and of the biased model (256 probes each; Table 2, then Table 3), then the rest of the
control's stability pool, as far as time allows. Every chunk of 128 probes is cached as soon
as it is done, so benchmarks/validity/stability.py and benchmarks/paper/orderings.py
then only read the cache (run them with --cached-only to leave a missing run out rather
than compute it).

    PYTHONPATH=. OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python -m benchmarks.validity.fill
"""

from __future__ import annotations

import torch

from benchmarks import paths
from benchmarks.validity.common import (
    ABLATION,
    EPS_GRID,
    TABLE_PROBES,
    attack_pool,
    log_footer,
    log_header,
    logger,
    pool,
    stability_config,
    table3_config,
    table_runs,
)

LOG = paths.LOGS / "validity_fill.log"


def main() -> None:
    torch.set_num_threads(1)
    log = logger(LOG)
    t0 = log_header(log, "validity_fill")
    probes = pool()
    attack_pool("biased", probes, stability_config(), log=log)
    for model in ("control", "biased"):
        for eps in EPS_GRID:
            for config, only in table_runs(eps):
                attack_pool(model, probes, config, stop=TABLE_PROBES, log=log, only=only)
        for variant in ABLATION:
            attack_pool(model, probes, table3_config(variant), stop=TABLE_PROBES, log=log)
    attack_pool("control", probes, stability_config(), log=log)
    log_footer(log, "validity_fill", t0)


if __name__ == "__main__":
    main()
