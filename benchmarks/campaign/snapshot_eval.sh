#!/usr/bin/env bash
# Usage: benchmarks/campaign/snapshot_eval.sh NAME
# Exports the balle18 snapshot runs/snap/NAME (made by watch_snapshots.sh)
# with `train` of its finished epochs (no step is run), then measures it on
# the 24 Kodak images as its own harness curve: runs/eval/NAME/kodak.json.
set -eu
cd "$(dirname "$0")/../.."
NAME=$1; SNAP=runs/snap/$NAME
E=$(wc -l < "$SNAP/epochs.jsonl")
export TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1 TF_CPP_MIN_LOG_LEVEL=3
if [ ! -f "$SNAP/checkpoint/manifest.json" ]; then
  nice -n "${NICE:-3}" .venv/bin/python models/balle18.py \
    --model_path "$SNAP/checkpoint" train --lambda "${LAMBDA:-0.01}" \
    --train_glob "${DATA:-../shared/data/train/bsds500}/train/*.jpg" \
    --epochs "$E" --steps_per_epoch 250 --train_path "$SNAP"
fi
nice -n "${NICE:-3}" .venv/bin/python benchmarks/kodak.py --models none \
  --no_shipped_checkpoints --checkpoint "balle18:$NAME=$SNAP/checkpoint" \
  --codecs none --threads 1 --quiet \
  --data_dir "${TFCS_KODAK_DIR:-../shared/data/kodak}" --out "runs/eval/$NAME"
