"""The command-line skeleton every model script plugs into.

A script describes itself with a `ModelScript` and calls `main(script)`; this
module provides the `train`, `compress` and `decompress` subcommands with
TFC-compatible flags, and turns every user error into one line on stderr and
exit status 1, never a traceback or a half-written output file.
"""

import argparse
import dataclasses
import os
import sys
from typing import Callable

from absl import app
from absl.flags import argparse_flags

from tfcsuite import UserError
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



@dataclasses.dataclass
class ModelScript:
  """What a model script tells the shared CLI, trainer and benchmark harness.

  Attributes:
    name: short name, also the folder under checkpoints/ (e.g. "balle17").
    description: one line for --help.
    default_checkpoint: checkpoint folder name used when --model_path is unset.
    add_model_flags: adds the model's own `train` flags to a parser.
    config_from_flags: returns the model configuration (a JSON-able dict,
      stored in the checkpoint manifest) from parsed `train` flags.
    training_model: config -> trainable `training.RateDistortionModel`.
    coding_model: checkpoint -> model with `compress`/`decompress`
      tf.functions (see `tfcsuite.coding`) and optionally `estimate_bits`.
    published_curve: name of the paper's published Kodak curve in TFC's
      results layout (e.g. "balle-2017-iclr-opt-mse"), or None.
    add_compress_flags: adds the model's own `compress` flags (e.g. a codec
      quality), or None.
    compress_options: parsed `compress` flags -> keyword arguments of the
      coding model's `compress`.
    operating_points: checkpoint -> [(label suffix, compress options)], the
      points of the model's rate-distortion curve that the benchmark harness
      measures with this checkpoint (default: one point, no options).
    rate_distortion_lambda: whether training has a `--lambda` trade-off.
  """
  name: str
  description: str
  default_checkpoint: str
  add_model_flags: Callable
  config_from_flags: Callable
  training_model: Callable
  coding_model: Callable
  published_curve: str = None
  add_compress_flags: Callable = None
  compress_options: Callable = lambda args: {}
  operating_points: Callable = lambda checkpoint: [("", {})]
  rate_distortion_lambda: bool = True

  def default_checkpoint_path(self):
    return str(CHECKPOINTS / self.name / self.default_checkpoint)


def parse_args(script, argv):
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
  from tfcsuite import training  # Imports TensorFlow; keep --help fast.
  training.add_training_flags(train_cmd, script.rate_distortion_lambda)
  script.add_model_flags(train_cmd)
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
    if command == "compress" and script.add_compress_flags:
      script.add_compress_flags(cmd)
    add_common_flags(cmd, default=lambda value: argparse.SUPPRESS)
  return parser.parse_args(argv[1:])


def _checkpoint_for_compress(script, args):
  from tfcsuite import checkpoint
  return checkpoint.load(args.model_path or script.default_checkpoint_path(),
                         script.name)


def compress(script, args):
  """Compresses an image to a container file; `-V` prints metrics."""
  from tfcsuite import coding, container, image_io, metrics
  output = args.output_file or args.input_file + ".tfci"
  image_io.check_writable(output, args.overwrite)
  image = image_io.read_image(args.input_file)
  ckpt = _checkpoint_for_compress(script, args)
  model = script.coding_model(ckpt)
  packed = container.pack(coding.compress_image(
      model, ckpt, image, **script.compress_options(args)))
  image_io.write_bytes(output, packed, args.overwrite)
  if args.verbose:
    reconstruction = coding.decompress_container(
        model, container.unpack(packed))
    height, width = image.shape[:2]
    values = metrics.all_metrics(coding.reference_image(model, image),
                                 reconstruction)
    print(f"Mean squared error: {values['mse']:0.4f}")
    print(f"PSNR (dB): {values['psnr']:0.2f}")
    print(f"Multiscale SSIM: {values['ms_ssim']:0.4f}")
    print(f"Multiscale SSIM (dB): {values['ms_ssim_db']:0.2f}")
    if hasattr(model, "estimate_bits"):
      bits = float(model.estimate_bits(image))
      print(f"Information content (model estimate, bpp): "
            f"{bits / (height * width):0.4f}")
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
  image = coding.decompress_container(script.coding_model(ckpt), parsed)
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
