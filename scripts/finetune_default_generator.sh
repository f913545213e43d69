#!/usr/bin/env bash
# Stage 1 of the shipped synthfaces generator (docs/generator.md, "How it was made"): four seeded
# fine-tunes of stage 0 (scripts/train_default_generator.py, 9,000 steps from scratch), 10,000
# steps in all, by benchmarks/generator/finetune.py (seed 2, lambda_region 4, lr 5e-4 cosine):
#   a. edit weights by miss (--focus) and the edge term, 4,000 steps;
#   b. Young and Brown_Hair weighted 3 and the reconstruction term doubled, 3,000 steps;
#   c. b's levers with the critic (0.01), 1,500 steps; d. 1,500 more of c.
# Stage 0 is the file at sia_audit/assets/synthfaces_attgan64.pt when this starts (to rebuild it
# from scratch, run train_default_generator.py first); the result replaces it at the end.
# Each fine-tune resumes from its training state in benchmarks/.cache/generator_finetune/ and a
# finished one is skipped, so an interrupted run picks up where it stopped. Log:
# docs/logs/generator_finetune.log (every line names its fine-tune).
#     nice bash scripts/finetune_default_generator.sh [THREADS]
set -euo pipefail
cd "$(dirname "$0")/.."
threads="${1:-2}"
py=".venv/bin/python"
cache="benchmarks/.cache/generator_finetune"
shipped="sia_audit/assets/synthfaces_attgan64.pt"
run() { PYTHONPATH=. "$py" -m benchmarks.generator.finetune --threads "$threads" "$@"; }
tag() { PYTHONPATH=. "$py" -c 'import sys; from pathlib import Path
from benchmarks.generator.finetune import start_tag; print(start_tag(Path(sys.argv[1])))' "$1"; }
# The start must be stage 0: refuse a shipped file that is stage 1 already (it would fine-tune
# stage 1 for 93 minutes and ship that as stage 1).
if [ ! -f "$cache/finetuned_r4_lr0.0005_focus_e1_4000.pt" ] && "$py" -c 'import sys, torch
p = torch.load(sys.argv[1], map_location="cpu", weights_only=True).get("provenance") or {}
sys.exit(0 if p.get("stage") == 1 else 1)' "$shipped"; then
    echo "finetune_default_generator: $shipped is stage 1 already; run" \
        "scripts/train_default_generator.py first to make stage 0" >&2
    exit 2
fi
levers=(--focus --weight Young=3 --weight Brown_Hair=3 --lambda-edge 1 --lambda-rec 2)
name="finetuned_r4_lr0.0005_focus+Brown_Hair3+Young3_e1_rec2"
a="$cache/finetuned_r4_lr0.0005_focus_e1_4000.pt"
b="$cache/${name}_from-$(basename "$a" .pt)_3000.pt"
c="$cache/${name}_adv0.01_from-$(tag "$b")_1500.pt"
d="$cache/${name}_adv0.01_from-$(tag "$c")_1500.pt"
[ -f "$a" ] || run --focus --lambda-edge 1 --steps 4000
[ -f "$b" ] || run --init "$a" "${levers[@]}" --steps 3000
[ -f "$c" ] || run --init "$b" "${levers[@]}" --lambda-adv 0.01 --steps 1500
[ -f "$d" ] || run --init "$c" "${levers[@]}" --lambda-adv 0.01 --steps 1500
stage0_sha=$(sha256sum "$shipped" | cut -c1-64)
cp "$d" "$shipped"
# d's own provenance names only its last 1,500 steps: say which stage the shipped file is.
PYTHONPATH=. "$py" scripts/stamp_generator_stage.py "$shipped" --stage0-sha256 "$stage0_sha"
# The stage's own log: how long each fine-tune took (eval_generator.py sums them).
{
    echo "stage 1 of $shipped: the four fine-tunes' last lines in docs/logs/generator_finetune.log"
    for f in "$a" "$b" "$c" "$d"; do
        grep -F "wrote $(basename "$f") after" docs/logs/generator_finetune.log | tail -1
    done
    echo "$(date -u '+%F %T') copied $(basename "$d") to $shipped (sha256 $(sha256sum "$shipped" | cut -c1-64))"
} > docs/logs/finetune_default_generator.log
cat docs/logs/finetune_default_generator.log
