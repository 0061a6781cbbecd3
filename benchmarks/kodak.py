#!/usr/bin/env python3
"""Kodak rate-distortion benchmark of learned models and classical codecs.

Every checkpoint of every named model (found through `tfcsuite.zoo`) and every
classical codec at a sweep of qualities compresses each Kodak image to a real
file, which is then decoded. Reported per image and averaged: bpp of the
whole file and of the payload alone, the model's own rate estimate, PSNR on
8-bit RGB, Y' PSNR, MS-SSIM and MS-SSIM dB, encode and decode times; then
BD-rate and BD-PSNR against JPEG 4:2:0 measured in the same run and against
the published curve of the same method. See benchmarks/README.md.

Example (2 images, JPEG only, a few seconds):
  python benchmarks/kodak.py --models none --codecs jpeg420 \\
      --images kodim01.png,kodim02.png --qualities 30,50,70,90 \\
      --data_dir ~/data/kodak --out /tmp/kodak
"""

import argparse
import datetime
import importlib.metadata
import json
import os
import platform
import shlex
import subprocess
import sys

from tfcsuite import UserError, image_io
from tfcsuite.cli import number_in_range
from tfcsuite.zoo import REPO_ROOT
from tfcsuite.datasets import kodak
from tfcsuite.harness import classical, evaluation, published, report

import speed

README_BEGIN = "<!-- kodak-results:begin"
README_END = "<!-- kodak-results:end -->"


class _Parser(argparse.ArgumentParser):
  """Reports a bad flag as one line on stderr (status 2), not a usage dump."""

  def error(self, message):
    self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def parse_args(argv):
  parser = _Parser(
      prog="kodak.py", description=__doc__.split("\n\n")[0],
      formatter_class=argparse.RawDescriptionHelpFormatter,
      epilog=__doc__.split("\n\n", 1)[1])
  parser.add_argument(
      "--models", default="all",
      help="Comma-separated registered models (tfcsuite.zoo), 'all' "
           "(default: those with a checkpoint) or 'none'.")
  parser.add_argument(
      "--codecs", default="all",
      help=f"Comma-separated classical codecs: "
           f"{', '.join(classical.CODECS)} ('jpeg' means both JPEGs), "
           f"'all' (default) or 'none'.")
  parser.add_argument(
      "--checkpoint", action="append", default=[], metavar="MODEL=PATH",
      help="Also evaluate this checkpoint folder of MODEL (repeatable).")
  parser.add_argument(
      "--no_shipped_checkpoints", action="store_true",
      help="Evaluate only --checkpoint folders, not checkpoints/<model>/*.")
  parser.add_argument(
      "--data_dir", default=os.environ.get("TFCS_KODAK_DIR"),
      help="Folder with kodim01.png ... kodim24.png (default: $TFCS_KODAK_DIR)."
           " Get them with `python -m tfcsuite.datasets.kodak DIR`.")
  parser.add_argument(
      "--reference_dir", default=os.environ.get("TFCS_REFERENCE_DIR"),
      help="TFC's results/image_compression folder with the published curves "
           "(default: $TFCS_REFERENCE_DIR; without it no published curves).")
  parser.add_argument(
      "--out", required=True,
      help="Output folder for JSON, CSV, Markdown and PNG results.")
  parser.add_argument(
      "--cache_dir", default=None,
      help="Where finished measurements are cached so that a rerun resumes "
           "(default: OUT/cache).")
  parser.add_argument(
      "--images", default=None,
      help="Comma-separated Kodak file names (default: all 24).")
  parser.add_argument(
      "--qualities", action="append", default=[], metavar="[CODEC=]V1,V2,..",
      help="Sweep values instead of the defaults: for every codec, or for one "
           "(repeatable). Quality 0-100; for jpeg2000 the compression ratio.")
  parser.add_argument(
      "--threads", type=number_in_range(int, low=1),
      default=1,
      help="Threads for TensorFlow (intra- and inter-op) and the codec "
           "libraries that take a thread count; recorded with the results.")
  parser.add_argument(
      "--keep_bitstreams", action="store_true",
      help="Keep every compressed file next to its cached measurement.")
  parser.add_argument(
      "--readme", default=None,
      help="Replace the generated results section of this Markdown file "
           "(full 24-image runs only).")
  parser.add_argument("--quiet", action="store_true",
                      help="No progress bar.")
  return parser.parse_args(argv)


def _split(text):
  return [item.strip() for item in text.split(",") if item.strip()]


def _selected(text, known, aliases, what):
  """Names from a comma list, or all/none; unknown names are a UserError."""
  if text.strip() == "all":
    return list(known)
  if text.strip() in ("none", ""):
    return []
  names = []
  for name in _split(text):
    expanded = aliases.get(name, (name,))
    for item in expanded:
      if item not in known:
        raise UserError(f"unknown {what} {name!r}; choose from "
                        f"{', '.join(list(known) + list(aliases))}")
      if item not in names:
        names.append(item)
  return names


def _sweeps(codec_names, specs):
  """{codec: values} from the defaults and --qualities entries."""
  common, per_codec = None, {}
  for spec in specs:
    codec, _, values = spec.rpartition("=")
    if codec and codec not in classical.CODECS:
      raise UserError(f"--qualities {spec!r}: unknown codec {codec!r}")
    try:
      numbers = [float(v) for v in _split(values)]
    except ValueError:
      raise UserError(f"--qualities {spec!r}: values must be numbers") from None
    if not numbers:
      raise UserError(f"--qualities {spec!r}: no values")
    if codec:
      per_codec[codec] = numbers
    else:
      common = numbers
  sweeps = {}
  for name in codec_names:
    codec = classical.CODECS[name]
    values = per_codec.get(name, common or codec.sweep)
    for value in values:
      if codec.parameter == "quality" and not (
          value == int(value) and 0 <= value <= 100):
        raise UserError(f"{name}: quality must be an integer 0..100, got "
                        f"{value:g}")
      if codec.parameter == "compression ratio" and not value > 1:
        raise UserError(f"{name}: compression ratio must exceed 1, got "
                        f"{value:g}")
    sweeps[name] = sorted(
        {int(v) if codec.parameter == "quality" else v for v in values})
  return sweeps


def codec_curves(args):
  names = _selected(args.codecs, classical.CODECS, classical.ALIASES, "codec")
  import PIL
  curves = []
  for name, values in _sweeps(names, args.qualities).items():
    codec = classical.CODECS[name]
    curves.append(report.CurveSpec(
        name=name, label=codec.label,
        description=(f"{codec.label} through Pillow {PIL.__version__} "
                     f"({codec.library_version()}); {codec.parameter} sweep; "
                     f"options {json.dumps(codec.options)}"),
        kind="codec", published_curve=codec.published_curve,
        points=[evaluation.CodecPoint(codec, value, args.threads)
                for value in values]))
  return curves


def model_curves(args):
  from tfcsuite import checkpoint as checkpoint_lib
  from tfcsuite import zoo
  extra = {}
  for entry in args.checkpoint:
    model, separator, path = entry.partition("=")
    if not separator or not model or not path:
      raise UserError(f"--checkpoint {entry!r}: expected MODEL=PATH")
    extra.setdefault(model, []).append(path)
  names = _selected(args.models, zoo.MODEL_SCRIPTS, {}, "model")
  explicit = args.models.strip() not in ("all", "")
  names += [name for name in extra if name not in names]

  curves = []
  for name in names:
    paths = [] if args.no_shipped_checkpoints else zoo.shipped_checkpoints(name)
    paths += extra.get(name, [])
    if not paths:
      if explicit or name in extra:
        raise UserError(f"model {name!r} has no checkpoint under "
                        f"checkpoints/{name}/; pass --checkpoint {name}=PATH")
      print(f"kodak.py: note: model {name!r} has no shipped checkpoint; "
            f"skipped", file=sys.stderr)
      continue
    script = zoo.load_script(name)
    checkpoints = {}  # By fingerprint: the same weights are evaluated once.
    for path in paths:
      loaded = checkpoint_lib.load(path, name)
      checkpoints.setdefault(loaded.fingerprint, loaded)
    labels = [c.name for c in checkpoints.values()]
    points = []
    for loaded in checkpoints.values():
      label = loaded.name
      if labels.count(label) > 1:  # Same folder name, different weights.
        label = f"{label}-{loaded.fingerprint:08x}"
      # A checkpoint gives one point, or several for a model whose rate is
      # a compress option (Jiang 2017: one per JPEG quality).
      for suffix, options in script.operating_points(loaded):
        points.append(evaluation.CheckpointPoint(
            script, loaded, f"{label}-{suffix}" if suffix else label,
            args.threads, options))
    curves.append(report.CurveSpec(
        name=name, label=name, description=script.description, kind="model",
        published_curve=script.published_curve, points=points))
  return curves


def configure_tensorflow_threads(threads, record):
  """Fixes TensorFlow's thread pools; must run before TensorFlow's first op."""
  import tensorflow as tf
  try:
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(threads)
  except RuntimeError:
    pass  # Already running (e.g. called twice in one process); see below.
  intra = tf.config.threading.get_intra_op_parallelism_threads()
  inter = tf.config.threading.get_inter_op_parallelism_threads()
  if (intra, inter) != (threads, threads):
    print(f"kodak.py: warning: TensorFlow was already running with "
          f"intra/inter-op threads {intra}/{inter} (0 = all cores), not "
          f"{threads}", file=sys.stderr)
  record["tensorflow intra_op"] = intra
  record["tensorflow inter_op"] = inter


def _git():
  """Commit and whether tracked files differ from it (read-only queries)."""
  def run(*command):
    # --no-optional-locks: `status` must not refresh the index, which could
    # collide with a commit being made at the same time.
    return subprocess.run(["git", "--no-optional-locks", *command],
                          cwd=REPO_ROOT, text=True, capture_output=True,
                          timeout=20).stdout.strip()
  try:
    sha = run("rev-parse", "HEAD") or None
    dirty = bool(run("status", "--porcelain", "--untracked-files=no"))
  except (OSError, subprocess.SubprocessError):
    sha, dirty = None, False
  return dict(sha=sha, dirty=dirty)


def _version(distribution):
  try:
    return importlib.metadata.version(distribution)
  except importlib.metadata.PackageNotFoundError:
    return None


def metadata(argv, args, image_paths, threads, measurements, from_cache):
  import numpy
  versions = {"Python": platform.python_version(), "numpy": numpy.__version__,
              "TensorFlow": _version("tensorflow"),
              "TensorFlow Compression": _version("tensorflow-compression")}
  versions.update(classical.versions())
  return dict(
      date=datetime.datetime.now(datetime.timezone.utc).strftime(
          "%Y-%m-%d %H:%M UTC"),
      command="python benchmarks/kodak.py " + shlex.join(argv),
      images=[os.path.basename(p) for p in image_paths],
      complete=len(image_paths) == len(kodak.SHA256),
      data_dir=args.data_dir, reference_dir=args.reference_dir,
      cpu=dict(model=speed.cpu_model(), cores=os.cpu_count(),
               usable_cores=len(os.sched_getaffinity(0))
               if hasattr(os, "sched_getaffinity") else os.cpu_count()),
      platform=platform.platform(), threads=threads, versions=versions,
      git=_git(), measurements=measurements, from_cache=from_cache,
      timing=("perf_counter around encode (to bytes) and decode (from bytes) "
              "separately, after one untimed warm-up encode and decode per "
              "point; checkpoint loading, model building, file I/O and "
              "metrics excluded"))


def _readme_block(path):
  """(text, start, end) of the README's generated block; UserError if none."""
  try:
    with open(path) as f:
      text = f.read()
  except OSError as error:
    raise UserError(
        f"cannot read --readme {path!r}: {error.strerror}") from None
  begin, end = text.find(README_BEGIN), text.find(README_END)
  if begin < 0 or end < begin:
    raise UserError(f"--readme {path!r} has no '{README_BEGIN} ... -->' / "
                    f"'{README_END}' markers")
  return text, text.index("\n", begin) + 1, end


def update_readme(path, summary, plots):
  """Replaces the generated block between the README's result markers."""
  text, begin, end = _readme_block(path)
  folder = os.path.dirname(os.path.abspath(path))
  images = [f"![{title}]({os.path.relpath(plot, folder)})"
            for title, plot in plots]
  block = summary + "\n" + "\n".join(images) + "\n"
  image_io.write_bytes(path, (text[:begin] + block + text[end:]).encode(),
                       overwrite=True)


def run(argv):
  args = parse_args(argv)
  if not args.data_dir:
    raise UserError("no Kodak folder: pass --data_dir or set TFCS_KODAK_DIR")
  names = list(dict.fromkeys(_split(args.images))) if args.images else None
  if names is not None and not names:
    raise UserError("--images names no image")
  image_paths = kodak.verify(args.data_dir, names)
  if args.readme:
    if len(image_paths) != len(kodak.SHA256):
      raise UserError(f"--readme needs a full run; this one has "
                      f"{len(image_paths)} of {len(kodak.SHA256)} images")
    _readme_block(args.readme)  # Fail now, not after a long run.
  if args.reference_dir:
    published.check_directory(args.reference_dir)
  if os.path.exists(args.out) and not os.path.isdir(args.out):
    raise UserError(f"--out {args.out!r} is a file, not a folder")
  os.makedirs(args.out, exist_ok=True)
  cache_dir = args.cache_dir or os.path.join(args.out, "cache")

  specs = codec_curves(args) + model_curves(args)
  if not specs:
    raise UserError("nothing to evaluate: no codec and no model checkpoint")
  threads = dict(requested=args.threads)
  threads.update(classical.configure_threads(args.threads))
  points = [point for spec in specs for point in spec.points]
  measurements, from_cache = evaluation.evaluate(
      points, image_paths, evaluation.ResultCache(cache_dir),
      keep_bitstreams=args.keep_bitstreams,
      before_first_measurement=lambda: configure_tensorflow_threads(
          args.threads, threads),
      show_progress=not args.quiet)

  if "tensorflow intra_op" not in threads:
    threads["tensorflow"] = ("not started: every measurement came from the "
                             "cache, whose key includes the thread count")
  curves = report.aggregate(specs, measurements)
  published_curves = report.compare(curves, args.reference_dir)
  info = metadata(argv, args, image_paths, threads, len(measurements),
                  from_cache)
  report.write_json(args.out, curves, info)
  report.write_csv(os.path.join(args.out, "kodak_per_image.csv"),
                   measurements)
  plots = report.write_plots(args.out, curves, published_curves)
  image_io.write_bytes(
      os.path.join(args.out, "kodak.md"),
      report.full_markdown(curves, info, plots).encode(), overwrite=True)
  summary = report.summary_markdown(curves, info)
  if args.readme:
    update_readme(args.readme, summary, plots)
  print(summary)
  print(f"Wrote {args.out}/kodak.md, kodak.json, curves/*.json, "
        f"kodak_per_image.csv, kodak_psnr.png, kodak_ms_ssim.png "
        f"({len(measurements) - from_cache} measured, {from_cache} cached).")
  return 0


def main(argv=None):
  argv = sys.argv[1:] if argv is None else list(argv)
  try:
    return run(argv)
  except UserError as error:
    print(f"kodak.py: error: {error}", file=sys.stderr)
    return 1
  except OSError as error:  # E.g. an output folder that is not writable.
    print(f"kodak.py: error: {error}", file=sys.stderr)
    return 1
  except KeyboardInterrupt:
    print("kodak.py: interrupted; finished measurements are cached, so the "
          "same command resumes", file=sys.stderr)
    return 130


if __name__ == "__main__":
  sys.exit(main())
