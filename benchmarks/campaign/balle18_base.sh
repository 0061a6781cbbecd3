#!/usr/bin/env bash
# The balle18 base run at lambda 0.01 of the learning curve in
# benchmarks/results/campaign/ (curve "balle18 base, 8x64² then 8x128²"):
# 8x64² patches for the first PHASE1_EPOCHS epochs (cheap steps, many updates
# early: the recipe table), then 8x128², one warm-up + cosine schedule over
# EPOCHS epochs of 250 steps. The 64² process is stopped right after the
# backup of its last epoch, so the 128² command resumes on the same schedule.
# Resumable: run it again (a larger EPOCHS re-plans the cosine from there).
# One TensorFlow thread: the other core is for the snapshot evaluations
# (watch_snapshots.sh) and everything else.
set -u
cd "$(dirname "$0")/../.."
RUN=${RUN:-runs/balle18_lambda0.01_s25}
EPOCHS=${EPOCHS:-44}
PHASE1_EPOCHS=${PHASE1_EPOCHS:-16}
DATA=${DATA:-../shared/data/train/bsds500}
export TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1 TF_CPP_MIN_LOG_LEVEL=3
train() {
  nice -n "${NICE:-0}" .venv/bin/python models/balle18.py \
    --model_path "$RUN/checkpoint" train --lambda 0.01 \
    --train_glob "$DATA/train/*.jpg" "$DATA/test/*.jpg" \
    --validation_glob "$DATA/val/*.jpg" \
    --batchsize 8 --patchsize "$1" --epochs "$EPOCHS" --steps_per_epoch 250 \
    --warmup_steps 300 --learning_rate 1e-3 --preprocess_threads 1 \
    --train_path "$RUN" --seed 1 &
}
done_epochs() { cat "$RUN/epochs.jsonl" 2>/dev/null | wc -l; }
if [ "$(done_epochs)" -lt "$PHASE1_EPOCHS" ]; then
  train 64
  pid=$!
  while kill -0 $pid 2>/dev/null; do
    if [ "$(done_epochs)" -ge "$PHASE1_EPOCHS" ]; then kill $pid; wait $pid; break; fi
    sleep 2
  done
fi
train 128
wait $!
