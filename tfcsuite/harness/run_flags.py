"""What the harness's command lines share: benchmarks/kodak.py and
`tfcs evaluate` select codecs and threads, cache and keep files alike, and
report a bad flag in one line; the Kodak benchmarks find images and write
results alike."""

import argparse
import os

from tfcsuite.cli import number_in_range


class OneLineErrorParser(argparse.ArgumentParser):
  """Reports a bad flag as one line on stderr (status 2), not a usage dump."""

  def error(self, message):
    self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def documented_parser(prog, doc):
  """A one-line-error parser whose --help is the module docstring `doc`:
  its first paragraph, then the rest verbatim."""
  description, epilog = doc.split("\n\n", 1)
  return OneLineErrorParser(
      prog=prog, description=description, epilog=epilog,
      formatter_class=argparse.RawDescriptionHelpFormatter)


def add_run_flags(parser, codecs_default):
  """--codecs (default `codecs_default`), --qualities, --threads,
  --cache_dir, --keep_bitstreams and --quiet."""
  from tfcsuite.harness import classical
  parser.add_argument(
      "--codecs", default=codecs_default,
      help=f"Comma-separated classical codecs: "
           f"{', '.join(classical.CODECS)} ('jpeg' means both JPEGs), "
           f"'all' or 'none' (default: {codecs_default}).")
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
      "--cache_dir", default=None,
      help="Where finished measurements are cached so that a rerun resumes "
           "(default: OUT/cache).")
  parser.add_argument(
      "--keep_bitstreams", action="store_true",
      help="Keep every compressed file next to its cached measurement.")
  parser.add_argument("--quiet", action="store_true",
                      help="No progress bar.")


def add_kodak_flags(parser, out_help=None, out_default=None):
  """--data_dir (the Kodak images), --reference_dir (published curves) and,
  given `out_help`, --images and --out (required unless `out_default`)."""
  parser.add_argument(
      "--data_dir", default=os.environ.get("TFCS_KODAK_DIR"),
      help="Folder with kodim01.png ... kodim24.png (default: $TFCS_KODAK_DIR)."
           " Get them with `python -m tfcsuite.datasets.kodak DIR`.")
  parser.add_argument(
      "--reference_dir", default=os.environ.get("TFCS_REFERENCE_DIR"),
      help="TFC's results/image_compression folder with the published curves "
           "(default: $TFCS_REFERENCE_DIR; without it no published curves).")
  if out_help is None:
    return
  parser.add_argument(
      "--images", default=None,
      help="Comma-separated Kodak file names (default: all 24).")
  parser.add_argument("--out", required=out_default is None,
                      default=out_default, help=out_help)
