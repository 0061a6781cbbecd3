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

import os
import sys

from tfcsuite import UserError, image_io
from tfcsuite.datasets import kodak
from tfcsuite.harness import (curve_selection, curves, environment,
                              evaluation, markdown, plots, published,
                              readme_block, results_files, run_flags)


def parse_args(argv):
  parser = run_flags.documented_parser("kodak.py", __doc__)
  parser.add_argument(
      "--models", default="all",
      help="Comma-separated registered models (tfcsuite.zoo), 'all' "
           "(default: those with a checkpoint) or 'none'.")
  parser.add_argument(
      "--checkpoint", action="append", default=[],
      metavar="MODEL[:NAME]=PATH",
      help="Also evaluate this checkpoint folder of MODEL (repeatable): on "
           "MODEL's curve, or on a curve of its own named NAME (letters, "
           "digits, . _ -), e.g. balle17:retrained=runs/x/checkpoint. "
           "PATH is everything after the first '=' and may hold ':' or '='.")
  parser.add_argument(
      "--no_shipped_checkpoints", action="store_true",
      help="Evaluate only --checkpoint folders, not checkpoints/<model>/*.")
  run_flags.add_kodak_flags(
      parser, "Output folder for JSON, CSV, Markdown and PNG results.")
  parser.add_argument(
      "--readme", default=None,
      help="Replace the generated results section of this Markdown file "
           "(full 24-image runs only).")
  run_flags.add_run_flags(parser, codecs_default="all")
  return parser.parse_args(argv)


def run(argv):
  args = parse_args(argv)
  if not args.data_dir:
    raise UserError("no Kodak folder: pass --data_dir or set TFCS_KODAK_DIR")
  names = (list(dict.fromkeys(curve_selection.comma_separated(args.images)))
           if args.images else None)
  if names is not None and not names:
    raise UserError("--images names no image")
  image_paths = kodak.verify(args.data_dir, names)
  if args.readme:
    if len(image_paths) != len(kodak.SHA256):
      raise UserError(f"--readme needs a full run; this one has "
                      f"{len(image_paths)} of {len(kodak.SHA256)} images")
    readme_block.locate(args.readme)  # Fail now, not after a long run.
  if args.reference_dir:
    published.check_directory(args.reference_dir)
  if os.path.exists(args.out) and not os.path.isdir(args.out):
    raise UserError(f"--out {args.out!r} is a file, not a folder")
  os.makedirs(args.out, exist_ok=True)
  cache_dir = args.cache_dir or os.path.join(args.out, "cache")

  specs = (curve_selection.codec_curves(args) +
           curve_selection.model_curves(args))
  if not specs:
    raise UserError("nothing to evaluate: no codec and no model checkpoint")
  measurements, from_cache, threads = environment.measure_curves(
      specs, image_paths, evaluation.ResultCache(cache_dir), args.threads,
      args.keep_bitstreams, show_progress=not args.quiet)
  curve_results = curves.aggregate(specs, measurements)
  published_curves = curves.compare(curve_results, args.reference_dir)
  info = environment.metadata(argv, args, image_paths, threads,
                              len(measurements), from_cache)
  results_files.write_json(args.out, curve_results, info)
  results_files.write_csv(os.path.join(args.out, "kodak_per_image.csv"),
                          measurements)
  plot_files = plots.write_plots(args.out, curve_results, published_curves)
  image_io.write_bytes(
      os.path.join(args.out, "kodak.md"),
      markdown.full_markdown(curve_results, info, plot_files).encode(),
      overwrite=True)
  summary = markdown.summary_markdown(curve_results, info)
  if args.readme:
    readme_block.update_readme(args.readme, summary, plot_files)
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
