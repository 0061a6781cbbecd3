"""`tfcs`: the suite's everyday commands in one program.

  tfcs models                     registered models, shipped checkpoints and
                                  their committed Kodak bpp and PSNR
  tfcs info FILE.tfci             what a compressed file holds (no decoding)
  tfcs compress --model M IN...   compress images (as models/M.py compress)
  tfcs decompress IN...           decompress files of any registered model
  tfcs evaluate --model M IMAGES --out DIR
                                  the Kodak harness's measurements on any
                                  images
  tfcs manifest [--check]         write (or check) checkpoints/manifest.json
  tfcs retrain [--full] [--dry-run]
                                  train every shipped checkpoint again with
                                  its recorded command (resumable)

Parsing the arguments imports no TensorFlow, so --help and usage errors are
immediate; a command imports it when it builds a model. Errors are one line
on stderr and exit status 1 (2 for a bad flag).
"""

import argparse
import sys

from tfcsuite import UserError, coding_jobs
from tfcsuite.harness import run_flags

PROG = "tfcs"


def _add_coding_flags(parser, command):
  coding_jobs.add_arguments(parser, command)
  parser.add_argument(
      "--model_path", default=None,
      help="Checkpoint folder (compress: default the model's default "
           "checkpoint; decompress: the checkpoint each file names).")
  parser.add_argument("--verbose", "-V", action="store_true",
                      help="compress: print metrics of each image.")


def _add_evaluate_flags(parser):
  parser.add_argument(
      "--model", required=True, help="Registered model (see `tfcs models`).")
  parser.add_argument(
      "images", nargs="+", metavar="FOLDER_OR_FILE",
      help="Image files (PNG, JPEG, WebP, ...) or folders of them.")
  parser.add_argument(
      "--checkpoint", action="append", default=[], metavar="PATH",
      help="Checkpoint folder of the model (repeatable; default: the model's "
           "default shipped checkpoint), measured at each operating point "
           "the model defines.")
  parser.add_argument("--out", required=True, help="Output folder.")
  parser.add_argument(
      "--overwrite", action="store_true",
      help="Replace the results of an earlier run in OUT (cached "
           "measurements are reused either way).")
  run_flags.add_run_flags(parser, codecs_default="none")


def build_parser(compress_options=None):
  """The `tfcs` parser; `compress_options`: the model's compress options
  dataclass, whose flags `compress` then takes."""
  from tfcsuite import config
  parser = run_flags.OneLineErrorParser(
      prog=PROG, description=__doc__.split("\n\n", maxsplit=1)[0],
      epilog=__doc__.split("\n\n", maxsplit=1)[1],
      formatter_class=argparse.RawDescriptionHelpFormatter)
  commands = parser.add_subparsers(title="commands", dest="command",
                                   required=True)
  commands.add_parser(
      "models", help="List models, shipped checkpoints and Kodak results.")
  info = commands.add_parser(
      "info", help="Show what a compressed file holds, without decoding it.")
  info.add_argument("file", metavar="FILE.tfci")
  compress = commands.add_parser(
      "compress", help="Compress images to files.",
      description=coding_jobs.__doc__.split("\n\n", maxsplit=1)[1])
  compress.add_argument("--model", required=True,
                        help="Registered model (see `tfcs models`); its "
                             "compress options (e.g. jiang17's --quality) "
                             "are accepted too.")
  _add_coding_flags(compress, "compress")
  if compress_options:
    config.add_flags(compress, compress_options)
  _add_coding_flags(commands.add_parser(
      "decompress", help="Decompress files of any registered model.",
      description=coding_jobs.__doc__.split("\n\n", maxsplit=1)[1]),
                    "decompress")
  _add_evaluate_flags(commands.add_parser(
      "evaluate", help="Measure a model's checkpoints on any images."))
  manifest = commands.add_parser(
      "manifest", help="Write checkpoints/manifest.json from every shipped "
                       "checkpoint's manifest and the committed Kodak results.")
  manifest.add_argument("--check", action="store_true",
                        help="Only check that the file is up to date.")
  _add_retrain_flags(commands.add_parser(
      "retrain", help="Train every shipped checkpoint again with the command "
                      "its manifest records (resumable).",
      description=retrain_doc(),
      formatter_class=argparse.RawDescriptionHelpFormatter))
  return parser


def retrain_doc():
  from tfcsuite import retrain
  return retrain.__doc__.split("\n\n", maxsplit=1)[1]


def _add_retrain_flags(parser):
  from tfcsuite import zoo
  parser.add_argument(
      "--full", action="store_true",
      help="The papers' training budgets where published (for GPUs).")
  parser.add_argument("--dry-run", "--dry_run", dest="dry_run",
                      action="store_true",
                      help="Only print the commands, in order.")
  parser.add_argument(
      "--runs_dir", default="runs/retrain",
      help="Folder of the retraining runs and their checkpoints.")
  parser.add_argument("--models", nargs="+", default=None,
                      help="Only these models (and what they start from).")
  parser.add_argument("--checkpoints", default=str(zoo.CHECKPOINTS),
                      help="Folder of the checkpoints to retrain.")


def parse_args(argv):
  """(parsed flags, the compress model's `ModelScript` or None).

  Model-specific compress flags are known only once the model's script is
  loaded (which imports TensorFlow): everything else is checked first.
  """
  parser = build_parser()
  args, unknown = parser.parse_known_args(argv)
  if args.command != "compress":
    if unknown:
      parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    return args, None
  from tfcsuite import zoo
  script = zoo.load_script(args.model)
  if unknown:
    args = build_parser(script.compress_options).parse_args(argv)
  return args, script


def _run(args, script, argv):
  """Runs the parsed command; returns the exit status."""
  if args.command == "models":
    from tfcsuite import model_list
    print(model_list.text())
  elif args.command == "info":
    from tfcsuite import file_info
    print("\n".join(file_info.describe(args.file)))
  elif args.command == "manifest":
    from tfcsuite import shipped_manifest
    print(shipped_manifest.run(check=args.check))
  elif args.command == "retrain":
    from tfcsuite import retrain
    return retrain.run(args.runs_dir, args.full, args.dry_run, args.models,
                       args.checkpoints)
  elif args.command == "evaluate":
    from tfcsuite.harness import evaluate_images
    print(evaluate_images.run(args, argv))
  else:
    from tfcsuite import coding_commands
    failures = (coding_commands.compress_all(script, args, PROG)
                if args.command == "compress" else
                coding_commands.decompress_all(args, PROG))
    return 1 if failures else 0
  return 0


def main(argv=None):
  """Entry point of the `tfcs` console script."""
  argv = sys.argv[1:] if argv is None else list(argv)
  try:
    args, script = parse_args(argv)
    return _run(args, script, argv)
  except UserError as error:
    message = error
  except OSError as error:  # E.g. an output folder that is not writable.
    message = f"{error.strerror}: {error.filename!r}" if error.filename else error
  except KeyboardInterrupt:
    print(f"{PROG}: interrupted", file=sys.stderr)
    return 130
  print(f"{PROG}: error: {message}", file=sys.stderr)
  return 1


if __name__ == "__main__":
  sys.exit(main())
