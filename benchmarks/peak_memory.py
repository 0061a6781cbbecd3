#!/usr/bin/env python3
"""Peak memory of compress and decompress on a 24-megapixel image.

Builds a 6000x4000 photo mosaic from the Kodak images (each Kodak image
upscaled 2x bicubically, so that content is photo-like at this size; the
mosaic is not committed), then runs `compress` and `decompress` of each named
model as child processes, once per --tile_sizes value (0: untiled), and
records each process's peak RSS (the kernel's `wait4` account), wall time,
file size and the PSNR of the decoded image, in
benchmarks/results/peak_memory.{json,md}.

Usage (long: run it niced on a shared machine):
  nice -n 19 python benchmarks/peak_memory.py --data_dir DIR/kodak \
      [--models balle17] [--tile_sizes 1024 0]
"""

import json
import os
import resource
import sys
import tempfile
import time

import numpy as np
from PIL import Image

from tfcsuite.harness import benchmark_runs
from tfcsuite.harness.environment import cpu_model

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZE = (6000, 4000)  # Width, height: 24 megapixels.


def mosaic(data_dir, path):
  """Writes the 6000x4000 mosaic of 2x-upscaled Kodak images to `path`."""
  names = sorted(n for n in os.listdir(data_dir) if n.endswith(".png"))
  canvas = Image.new("RGB", SIZE)
  x = y = index = 0
  while y < SIZE[1]:
    with Image.open(os.path.join(data_dir, names[index % len(names)])) as im:
      tile = im.convert("RGB").resize((1536, 1024), Image.BICUBIC)
    canvas.paste(tile, (x, y))
    index += 1
    x += tile.width
    if x >= SIZE[0]:
      x, y = 0, y + tile.height
  canvas.save(path)


def psnr(a, b):
  """PSNR of two uint8 images, by bands of rows: this process's own peak
  RSS is a floor under every later child's (see `own_peak_rss_mib`), and
  float64 copies of whole 24-megapixel images raised it to 1.5 GB."""
  squared_error = 0
  for top in range(0, a.shape[0], 256):
    difference = a[top:top + 256].astype(np.int64) - b[top:top + 256]
    squared_error += int(np.sum(difference * difference))
  if not squared_error:
    return float("inf")
  return float(10 * np.log10(255. ** 2 * a.size / squared_error))


def own_peak_rss_mib():
  """This process's peak RSS. Linux folds it into a child's at exec (the
  child starts as a vfork of this process, whose high-water mark the exec
  keeps), so `wait4` reports no child below it."""
  return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.)


def measure(model, tile_size, image_path, folder):
  """compress and decompress rows of one model at one tile size."""
  script = os.path.join(REPO, "models", f"{model}.py")
  packed = os.path.join(folder, f"{model}_{tile_size}.tfci")
  decoded = os.path.join(folder, f"{model}_{tile_size}.png")
  rows = []
  floor = own_peak_rss_mib()  # Before any of this model's children.
  for command, argv in (
      ("compress", [image_path, packed]),
      ("decompress", [packed, decoded])):
    run = benchmark_runs.run_measured(
        [sys.executable, script, command, *argv, "--overwrite",
         "--tile_size", str(tile_size)])
    row = dict(model=model, command=command, tile_size=tile_size,
               date=time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
               peak_rss_mib=round(run.peak_rss_mib), wall_seconds=round(
                   run.wall_seconds, 1), exit_status=run.returncode)
    if run.returncode:
      lines = run.stderr.strip().splitlines()
      row["error"] = (lines[-1][-300:] if lines else
                      f"no message (killed by signal {-run.returncode})"
                      if run.returncode < 0 else "no message")
    rows.append(row)
    print(json.dumps(row), flush=True)
    if run.returncode:
      break
  if not any(r["exit_status"] for r in rows):
    with Image.open(image_path) as a, Image.open(decoded) as b:
      rows[-1]["psnr"] = round(psnr(np.asarray(a), np.asarray(b)), 4)
    rows[0]["bytes"] = os.path.getsize(packed)
  for row in rows:
    row["measurer_peak_rss_mib"] = floor
  return rows


def _threads():
  """TensorFlow's thread settings of the children (unset: all cores)."""
  return " ".join(f"{name}={os.environ.get(name, 'unset')}" for name in (
      "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"))


def markdown(result):
  lines = [f"# Peak memory on a {SIZE[0]}x{SIZE[1]} image", "",
           f"CPU: {result['cpu']}; last command: `{result['command']}` "
           f"with {result.get('threads', 'threads unrecorded')} "
           f"(rows of earlier runs are kept; each has its date). Peak RSS "
           f"is the child process's maximum resident set (`wait4`), never "
           f"below the measuring process's own peak at its start (Linux "
           f"folds it in at exec; in the JSON as measurer_peak_rss_mib); "
           f"the target is 1.5 GB = 1.5e9 bytes = 1430 MiB.", "",
           "| model | command | tile size | peak RSS (MiB) | wall (s) | "
           "bytes | PSNR (dB) | exit | date |",
           "|---|---|---|---|---|---|---|---|---|"]
  for r in result["rows"]:
    lines.append(
        f"| {r['model']} | {r['command']} | "
        f"{r['tile_size'] or 'untiled'} | {r['peak_rss_mib']} | "
        f"{r['wall_seconds']} | {r.get('bytes', '')} | {r.get('psnr', '')} | "
        f"{r['exit_status']}{' ' + r['error'] if 'error' in r else ''} | "
        f"{r.get('date', '')} |")
  return "\n".join(lines) + "\n"


def main():
  parser = benchmark_runs.parser(__doc__, "peak_memory", ["balle17"])
  parser.add_argument("--tile_sizes", nargs="+", type=int, default=[512, 0])
  args = parser.parse_args()
  rows = []
  with tempfile.TemporaryDirectory() as folder:
    image_path = os.path.join(folder, "mosaic.png")
    mosaic(args.data_dir, image_path)
    for model in args.models:
      for tile_size in args.tile_sizes:
        rows += measure(model, tile_size, image_path, folder)
  # Rows of earlier runs for other (model, command, tile size) are kept.
  result = dict(cpu=cpu_model(), command=" ".join(sys.argv),
                threads=_threads(), rows=[])
  if os.path.exists(args.out + ".json"):
    with open(args.out + ".json") as f:
      result["rows"] = json.load(f)["rows"]
  keys = {(r["model"], r["command"], r["tile_size"]) for r in rows}
  result["rows"] = [r for r in result["rows"] if
                    (r["model"], r["command"], r["tile_size"]) not in keys]
  result["rows"] = sorted(result["rows"] + rows, key=lambda r: (
      r["model"], r["tile_size"] == 0, r["tile_size"], r["command"]))
  benchmark_runs.write_results(args.out, result, markdown(result))


if __name__ == "__main__":
  main()
