"""The command-line skeleton every model script plugs into.

A script describes itself with a `tfcsuite.zoo.ModelScript` and calls
`main(script)`; this module provides the `train`, `compress` and `decompress`
subcommands with TFC-compatible flags, and turns every user error into one
line on stderr and exit status 1, never a traceback or a half-written output
file.
"""

import argparse
import dataclasses
import os
import sys

from absl import app
from absl.flags import argparse_flags

from tfcsuite import UserError, config
from tfcsuite.zoo import CHECKPOINTS


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
      ("compress", "Compress an image (PNG, JPEG, WebP, ...) to a file."),
      ("decompress", "Decompress a file to an image (PNG, or OUT's format)."),
  ):
    cmd = subparsers.add_parser(
        command, formatter_class=argparse.ArgumentDefaultsHelpFormatter,
        help=help_text)
    cmd.add_argument("input_file")
    cmd.add_argument("output_file", nargs="?", default=None,
                     help="Default: input_file with .tfci (compress) or "
                          ".png (decompress) appended.")
    cmd.add_argument("--overwrite", action="store_true",
                     help="Replace output_file if it exists.")
    if command == "compress" and script.compress_options:
      config.add_flags(cmd, script.compress_options)
    add_common_flags(cmd, default=lambda value: argparse.SUPPRESS)
  return parser


def parse_args(script, argv):
  return build_parser(script).parse_args(argv[1:])


def _checkpoint_for_compress(script, args):
  from tfcsuite import checkpoint
  return checkpoint.load(args.model_path or script.default_checkpoint_path(),
                         script.name)


def compress_options(script, args):
  """The model's compress-time options given by the flags, as a dict."""
  if not script.compress_options:
    return {}
  return dataclasses.asdict(config.from_flags(script.compress_options, args))


def compress(script, args):
  """Compresses an image to a container file; `-V` prints metrics."""
  from tfcsuite import coding, container, image_io, metrics
  output = args.output_file or args.input_file + ".tfci"
  image_io.check_writable(output, args.overwrite)
  image = image_io.read_image(args.input_file)
  ckpt = _checkpoint_for_compress(script, args)
  model = script.coding_model(ckpt)
  packed = container.pack(coding.encode(
      model, ckpt, image, **compress_options(script, args)))
  image_io.write_bytes(output, packed, args.overwrite)
  if args.verbose:
    reconstruction = coding.decode(model, container.unpack(packed))
    height, width = image.shape[:2]
    values = metrics.all_metrics(model.reference_image(image), reconstruction)
    print(f"Mean squared error: {values['mse']:0.4f}")
    print(f"PSNR (dB): {values['psnr']:0.2f}")
    print(f"Multiscale SSIM: {values['ms_ssim']:0.4f}")
    print(f"Multiscale SSIM (dB): {values['ms_ssim_db']:0.2f}")
    bits = model.estimate_bits(image)
    if bits is not None:
      print(f"Information content (model estimate, bpp): "
            f"{float(bits) / (height * width):0.4f}")
    print(f"Actual bits per pixel: "
          f"{metrics.bits_per_pixel(len(packed), height, width):0.4f}")


def decompress(script, args):
  """Decompresses a container file to an image."""
  from tfcsuite import checkpoint, coding, container, image_io
  output = args.output_file or args.input_file + ".png"
  image_io.check_writable(output, args.overwrite)
  parsed = container.unpack(image_io.read_bytes(args.input_file), script.name)
  path = args.model_path or str(CHECKPOINTS / script.name / parsed.checkpoint)
  if not args.model_path and not os.path.isdir(path):
    raise UserError(f"the file was made with checkpoint {parsed.checkpoint!r}, "
                    f"which is not in checkpoints/{script.name}/; pass "
                    f"--model_path")
  ckpt = checkpoint.load(path, script.name)
  if ckpt.fingerprint != parsed.weights_crc32:
    raise UserError(f"the file was compressed with other weights than those "
                    f"in {path!r} (fingerprint mismatch)")
  image = coding.decode(script.coding_model(ckpt), parsed)
  image_io.write_image(output, image, args.overwrite)


def _run(script, args):
  try:
    if args.command == "train":
      from tfcsuite import training
      training.train(script, args)
    elif args.command == "compress":
      compress(script, args)
    else:
      decompress(script, args)
  except UserError as error:
    print(f"{os.path.basename(sys.argv[0])}: error: {error}", file=sys.stderr)
    sys.exit(1)
  except KeyboardInterrupt:
    print(f"{os.path.basename(sys.argv[0])}: interrupted", file=sys.stderr)
    sys.exit(130)


def main(script):
  """Entry point of a model script."""
  app.run(lambda args: _run(script, args),
          flags_parser=lambda argv: parse_args(script, argv))
