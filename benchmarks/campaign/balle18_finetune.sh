#!/usr/bin/env bash
# Usage: LAMBDA=0.08 INIT=path/to/checkpoint RUN=runs/NAME \
#            benchmarks/campaign/balle18_finetune.sh
# A balle18 fine-tune of the campaign: the weights of INIT (a run's exported
# checkpoint), trained at LAMBDA on 8x128² patches with a warm-up of 100
# steps to 5e-4 and one cosine over EPOCHS epochs of 250 steps. Resumable:
# run it again with the same RUN. One TensorFlow thread, so that two
# fine-tunes share the two cores.
set -u
cd "$(dirname "$0")/../.."
DATA=${DATA:-../shared/data/train/bsds500}
export TF_NUM_INTRAOP_THREADS=1 TF_NUM_INTEROP_THREADS=1 TF_CPP_MIN_LOG_LEVEL=3
exec nice -n "${NICE:-0}" .venv/bin/python models/balle18.py \
  --model_path "$RUN/checkpoint" train --lambda "$LAMBDA" --init_from "$INIT" \
  --train_glob "$DATA/train/*.jpg" "$DATA/test/*.jpg" \
  --validation_glob "$DATA/val/*.jpg" \
  --batchsize 8 --patchsize 128 --epochs "${EPOCHS:-20}" --steps_per_epoch 250 \
  --warmup_steps 100 --learning_rate "${LEARNING_RATE:-5e-4}" \
  --preprocess_threads 1 --train_path "$RUN" --seed 1
