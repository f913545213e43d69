"""Stamp a stage-1 synthfaces generator's provenance with the stage it is and where it started.

The last fine-tune of scripts/finetune_default_generator.sh writes a checkpoint whose provenance
describes only that fine-tune (1,500 steps, benchmarks/generator/finetune.py, its start's file
name). The shipped file says instead which script made it, from which stage-0 file (sha256), and
how many steps each stage took; the fine-tune's own fields are kept under `last_finetune_`.
Weights are not touched.

    .venv/bin/python scripts/stamp_generator_stage.py sia_audit/assets/synthfaces_attgan64.pt \\
        --stage0-sha256 HEX
"""

from __future__ import annotations

import argparse
from pathlib import Path

from sia_audit.generators.checkpoint import load_checkpoint, save_checkpoint

# The four fine-tunes of scripts/finetune_default_generator.sh, in order.
FINETUNES = (
    "a 4000 focus+edge; b 3000 Young3+Brown_Hair3+rec2; c 1500 critic 0.01; d 1500 more of c"
)
STAGE0_STEPS = 9000
STAGE1_STEPS = 10000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint", type=Path)
    parser.add_argument("--stage0-sha256", required=True)
    args = parser.parse_args()
    generator = load_checkpoint(args.checkpoint)
    last = {k: v for k, v in generator.provenance.items() if k != "file"}
    own = {f"last_finetune_{k}": v for k, v in last.items() if k not in ("trainer", "mode", "data")}
    if last.get("stage") == 1:
        raise SystemExit(f"{args.checkpoint} is stamped already (stage 1)")
    provenance = {
        "trainer": last.get("trainer"),
        "mode": last.get("mode"),
        "data": last.get("data"),
        "renderer_version": last.get("renderer_version"),
        "tool_version": last.get("tool_version"),
        "script": "scripts/finetune_default_generator.sh",
        "stage": 1,
        "stage0_sha256": args.stage0_sha256,
        "stage0_steps": STAGE0_STEPS,
        "steps": STAGE1_STEPS,
        "finetunes": FINETUNES,
        **own,
    }
    save_checkpoint(args.checkpoint, generator, provenance)
    print(f"{args.checkpoint}: stamped stage 1 (from stage 0 {args.stage0_sha256[:12]})")


if __name__ == "__main__":
    main()
