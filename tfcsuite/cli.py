"""The command-line skeleton every model script plugs into.

A script describes itself with a `tfcsuite.zoo.ModelScript` and calls
`main(script)`; this module provides the `train`, `compress` and `decompress`
subcommands with TFC-compatible flags, and turns every user error into one
line on stderr and exit status 1, never a traceback or a half-written output
file.
"""

import argparse
import os
import sys

from absl import app
from absl.flags import argparse_flags

from tfcsuite import UserError, coding_jobs, config


def number_in_range(kind, low=None, high=None, what=None):
  """An argparse type: `kind(text)` with low <= value <= high (None: open).

  A bad value becomes argparse's one-line error, e.g. "JPEG quality must be
  1..100: 101".
  """
  if low is not None and high is not None:
    bounds = f"{low}..{high}"
  elif low is not None:
    bounds = f"at least {low}"
  else:
    bounds = f"at most {high}"

  def parse(text):
    try:
      value = kind(text)
    except ValueError:
      noun = "an integer" if kind is int else "a number"
      raise argparse.ArgumentTypeError(f"not {noun}: {text!r}") from None
    if ((low is not None and not value >= low) or
        (high is not None and not value <= high)):  # NaN fails both.
      subject = f"{what} " if what else ""
      raise argparse.ArgumentTypeError(f"{subject}must be {bounds}: {value}")
    return value

  return parse


def build_parser(script):
  """The argument parser of a model script's command line."""
  def add_common_flags(parser, default):
    # Accepted before the command (as in TFC) and after it.
    parser.add_argument(
        "--verbose", "-V", action="store_true", default=default(False),
        help="Report progress when training; print metrics when compressing.")
    parser.add_argument(
        "--model_path", default=default(None),
        help="Checkpoint folder. compress: default "
             f"checkpoints/{script.name}/{script.default_checkpoint}; "
             "decompress: the checkpoint named in the file; train: where to "
             "write the trained checkpoint (default <train_path>/checkpoint).")

  parser = argparse_flags.ArgumentParser(
      description=script.description,
      formatter_class=argparse.ArgumentDefaultsHelpFormatter)
  add_common_flags(parser, default=lambda value: value)
  subparsers = parser.add_subparsers(
      title="commands", dest="command", required=True)

  train_cmd = subparsers.add_parser(
      "train", formatter_class=argparse.ArgumentDefaultsHelpFormatter,
      help="Train (or continue training) a model and export a checkpoint.")
  from tfcsuite import training  # Imports TensorFlow.
  training.add_training_flags(train_cmd, script)
  train_cmd.set_defaults(**script.training_defaults)
  config.add_flags(train_cmd, script.config)
  add_common_flags(train_cmd, default=lambda value: argparse.SUPPRESS)

  for command, help_text in (
      ("compress", "Compress images (PNG, JPEG, WebP, ...) to files."),
      ("decompress", "Decompress files to images (PNG, or OUT's format)."),
  ):
    cmd = subparsers.add_parser(
        command, formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        help=help_text)
    coding_jobs.add_arguments(cmd, command)
    if command == "compress" and script.compress_options:
      config.add_flags(cmd, script.compress_options)
    add_common_flags(cmd, default=lambda value: argparse.SUPPRESS)
  return parser


def parse_args(script, argv):
  return build_parser(script).parse_args(argv[1:])


def _run(script, args):
  from tfcsuite import coding_commands
  prog = os.path.basename(sys.argv[0])
  failures = 0
  try:
    if args.command == "train":
      from tfcsuite import training
      training.train(script, args)
    elif args.command == "compress":
      failures = coding_commands.compress_all(script, args, prog)
    else:
      failures = coding_commands.decompress_all(args, prog, script)
  except UserError as error:
    print(f"{prog}: error: {error}", file=sys.stderr)
    sys.exit(1)
  except KeyboardInterrupt:
    print(f"{prog}: interrupted", file=sys.stderr)
    sys.exit(130)
  if failures:
    sys.exit(1)


def main(script):
  """Entry point of a model script."""
  app.run(lambda args: _run(script, args),
          flags_parser=lambda argv: parse_args(script, argv))
