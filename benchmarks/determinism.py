#!/usr/bin/env python3
"""Determinism of every model: same bytes, same pixels, across processes
and thread counts.

For each model (default checkpoint) two fresh child processes code the same
images, one with 1 TensorFlow thread and one with 2 (intra- and inter-op).
Each child compresses every image twice (the two files must be identical)
and decodes its first file; the parent then requires both children's files to be
identical and their decoded images to be identical (SHA-256 of the bytes
and of the pixels). Results, per model, go to
benchmarks/results/determinism.{json,md} after each model.

Usage (long: run it niced on a shared machine):
  nice -n 19 python benchmarks/determinism.py --data_dir DIR/kodak \
      [--models balle17 ...] [--images kodim01.png ...] [--crop 64x96]
"""

import argparse
import hashlib
import json
import os
import subprocess
import sys
import time

from tfcsuite.harness import benchmark_runs
from tfcsuite.harness.environment import cpu_model


def _sha(data):
  return hashlib.sha256(bytes(data)).hexdigest()[:16]


def hashes(model_names, images, data_dir, crop=None):
  """{"model/image": SHA-256s of the file, of a second compression, and of
  the pixels decoded from the first}, in this process."""
  from tfcsuite import coding, coding_commands, container, image_io, zoo
  models = coding_commands.CodingModels()
  crop = tuple(int(v) for v in crop.split("x")) if crop else None
  rows = {}
  for model_name in model_names:
    script = zoo.load_script(model_name)
    checkpoint, model = models.get(script, script.default_checkpoint_path())
    for name in images:
      image = image_io.read_image(os.path.join(data_dir, name))
      if crop:
        image = image[:crop[0], :crop[1]]
      files = [container.pack(coding.encode(model, checkpoint, image))
               for _ in range(2)]
      decoded = coding.decode(model, container.unpack(files[0]))
      rows[f"{model_name}/{name}"] = dict(
          file=_sha(files[0]), file_again=_sha(files[1]),
          pixels=_sha(decoded.tobytes()))
  return rows


def run_child(args):
  """`hashes` with --threads TensorFlow threads, as JSON on stdout."""
  from tfcsuite.harness import environment
  environment.configure_tensorflow_threads(args.threads, {})
  json.dump(hashes(args.child, args.images, args.data_dir, args.crop),
            sys.stdout)


def child_hashes(models, threads, args):
  """`hashes` computed by a fresh child process with `threads` threads."""
  command = [sys.executable, os.path.abspath(__file__), "--child", *models,
             "--threads", str(threads), "--data_dir", args.data_dir,
             "--images", *args.images]
  if args.crop:
    command += ["--crop", args.crop]
  result = subprocess.run(command, capture_output=True, text=True,
                          env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
  if result.returncode:
    sys.exit(f"error: {' '.join(models)} with {threads} threads failed: "
             f"{result.stderr[-500:]}")
  return json.loads(result.stdout)


def mismatches(one, two):
  """What differs between two `hashes` results (1 and 2 threads)."""
  found = []
  for key in sorted(one):
    for check, same in (
        ("compressed twice, 1 thread", one[key]["file"] ==
         one[key]["file_again"]),
        ("compressed twice, 2 threads", two[key]["file"] ==
         two[key]["file_again"]),
        ("file, 1 vs 2 threads", one[key]["file"] == two[key]["file"]),
        ("pixels, 1 vs 2 threads", one[key]["pixels"] == two[key]["pixels"])):
      if not same:
        found.append(f"{key}: {check}")
  return found


def compare(models, args):
  """Runs the 1- and 2-thread children coding `models`; one row each."""
  start = time.perf_counter()
  runs = {threads: child_hashes(models, threads, args) for threads in (1, 2)}
  rows = []
  for model in models:
    keys = [key for key in runs[1] if key.startswith(model + "/")]
    images = len(keys)
    rows.append(dict(
        model=model, images=images, compress_pairs=3 * images,
        decode_pairs=images,
        mismatches=mismatches({k: runs[1][k] for k in keys},
                              {k: runs[2][k] for k in keys}),
        seconds=round(time.perf_counter() - start)))
  return rows


def markdown(result):
  lines = ["# Determinism", "", f"CPU: {result['cpu']}. Each row's command, "
           f"commit and niceness are in determinism.json; its two children "
           f"run 1 and 2 TensorFlow threads.", "",
           "Compress pairs: each image twice in each process, and the 1- vs "
           "2-thread files; decode pairs: the pixels decoded in the two "
           "fresh processes.", "",
           "| model | images | compress pairs | decode pairs | mismatches | "
           "seconds | date | commit |", "|---|---|---|---|---|---|---|---|"]
  for row in result["models"]:
    lines.append(f"| {row['model']} | {row['images']} | "
                 f"{row['compress_pairs']} | {row['decode_pairs']} | "
                 f"{len(row['mismatches'])} | {row['seconds']} | "
                 f"{row.get('date', 'n/a')} | {row.get('commit', 'n/a')} |")
  return "\n".join(lines) + "\n"


def main():
  parser = benchmark_runs.parser(__doc__, "determinism")
  parser.add_argument("--images", nargs="+", default=[
      f"kodim{i:02d}.png" for i in range(1, 25)])
  parser.add_argument("--crop", help="HxW: code only this top-left crop.")
  parser.add_argument("--one_process", action="store_true",
                      help="Code every model in the same two processes "
                           "(default: two processes per model, results "
                           "written after each).")
  parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
  parser.add_argument("--threads", type=int, help=argparse.SUPPRESS)
  args = parser.parse_args()
  if args.child:
    return run_child(args)
  from tfcsuite import zoo
  names = args.models or sorted(zoo.MODEL_SCRIPTS)
  conditions = benchmark_runs.run_conditions()
  for group in [names] if args.one_process else [[name] for name in names]:
    rows = [dict(benchmark_runs.run_row(row, conditions),
                 command=" ".join(sys.argv))
            for row in compare(group, args)]
    print(json.dumps(rows), flush=True)
    # Rows of other models (earlier runs) are kept, each with its command.
    result = dict(cpu=cpu_model(),
                  models=benchmark_runs.merge_rows(args.out, rows))
    benchmark_runs.write_results(args.out, result, markdown(result))


if __name__ == "__main__":
  main()
