#!/usr/bin/env bash
# Usage: benchmarks/campaign/watch_snapshots.sh RUN EPOCH...
# The moment RUN records epoch E (for each E given), copies its records and
# its backup (Keras' BackupAndRestore writes it before the epoch's record),
# then evaluates each copy with snapshot_eval.sh, one at a time.
cd "$(dirname "$0")/../.."
RUN=$1; shift
for E in "$@"; do
  while [ "$(cat "$RUN/epochs.jsonl" 2>/dev/null | wc -l)" -lt "$E" ]; do sleep 1; done
  NAME=$(basename "$RUN")_e$E; SNAP=runs/snap/$NAME
  if [ "$(wc -l < "$RUN/epochs.jsonl")" = "$E" ] && [ ! -d "$SNAP" ]; then
    mkdir -p "$SNAP"
    cp -r "$RUN/backup" "$RUN/run.json" "$RUN/commands.jsonl" "$SNAP/"
    head -n "$E" "$RUN/epochs.jsonl" > "$SNAP/epochs.jsonl"
    echo "$(date -u +%H:%M) snapshot $NAME"
    (flock 9; benchmarks/campaign/snapshot_eval.sh "$NAME" > "runs/eval_$NAME.log" 2>&1
     echo "$(date -u +%H:%M) evaluated $NAME") 9>runs/eval.lock &
  else
    echo "$(date -u +%H:%M) missed epoch $E (the run was past it)"
  fi
done
wait
