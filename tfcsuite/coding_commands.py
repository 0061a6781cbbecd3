"""The compress and decompress commands, for one file or many in one process.

`tfcsuite.coding_jobs` decides which files are read and written. A
checkpoint is loaded, and its model built, once per command; a file that
cannot be coded gets its own one-line error (prefixed with its name when
there are several) and the others are still coded. The functions return
the number of files that failed. Outputs are written atomically, so a
failure leaves nothing behind.
"""

import dataclasses
import math
import os
import sys

from tfcsuite import UserError, coding_jobs, config, image_io, limits, zoo


class _Abort(UserError):
  """An error that concerns every file (e.g. an unusable --model_path)."""


class CodingModels:
  """Loaded checkpoints and their coding models, by folder, made once."""

  def __init__(self):
    self._loaded = {}

  def get(self, script, path):
    """(checkpoint, coding model); a failed load fails the same way again."""
    from tfcsuite import checkpoint
    key = (script.name, os.path.realpath(path))
    if key not in self._loaded:
      try:
        loaded = checkpoint.load(path, script.name)
        self._loaded[key] = (loaded, script.coding_model(loaded))
      except UserError as error:
        self._loaded[key] = error
    if isinstance(self._loaded[key], UserError):
      raise self._loaded[key]
    return self._loaded[key]


def _run_jobs(jobs, code_one, prog):
  """Runs `code_one` on every job, reporting each failure in one line."""
  failures = 0
  for job in jobs:
    try:
      code_one(job)
    except _Abort:
      raise
    except UserError as error:
      # Among several files, name the one that failed (if the error doesn't).
      where = (f"{job.source}: " if len(jobs) > 1 and
               job.source not in str(error) else "")
      print(f"{prog}: error: {where}{error}", file=sys.stderr)
      failures += 1
  return failures


def set_up_memory(args):
  """Bounds the memory of coding: --tile_size, and TensorFlow's allocator.

  TensorFlow's oneDNN CPU allocator keeps large tensors in a pool that
  never shrinks, so a process held the sum of its largest steps (on a
  24-megapixel image, the float input, the latents and the scale indexes
  at once). TF_ONEDNN_USE_SYSTEM_ALLOCATOR (tensorflow/tensorflow#54169)
  makes it use malloc, which returns them; TensorFlow reads it at its
  first allocation, which coding has not made yet. A value the user set
  is kept. Only allocation changes: results are the same.
  """
  from tfcsuite import tiling
  os.environ.setdefault("TF_ONEDNN_USE_SYSTEM_ALLOCATOR", "1")
  tiling.set_tile_size(args.tile_size)


def compress_options(script, args):
  """The model's compress-time options given by the flags, as a dict."""
  if not script.compress_options:
    return {}
  return dataclasses.asdict(config.from_flags(script.compress_options, args))


def print_metrics(model, image, packed):
  """What `compress -V` prints about one compressed image."""
  from tfcsuite import coding, container, metrics
  parsed = container.unpack(packed)
  height, width = image.shape[:2]
  for label, text in (
      ("Coded", model.describe_coding(coding.fields_of(model.layout, parsed),
                                      (height, width))),
      ("Metrics against", model.describe_reference())):
    if text:
      print(f"{label}: {text}")
  values = metrics.all_metrics(model.reference_image(image),
                               coding.decode(model, parsed,
                                             max_pixels=image[..., 0].size))
  print(f"Mean squared error: {values['mse']:0.4f}")
  print(f"PSNR (dB): {values['psnr']:0.2f}")
  if math.isnan(values["ms_ssim"]):
    side = metrics.MS_SSIM_MIN_SIDE
    print(f"Multiscale SSIM: n/a (its {metrics.MS_SSIM_SCALES} scales need "
          f"at least {side}x{side} pixels; the image is {width}x{height})")
    print("Multiscale SSIM (dB): n/a")
  else:
    print(f"Multiscale SSIM: {values['ms_ssim']:0.4f}")
    print(f"Multiscale SSIM (dB): {values['ms_ssim_db']:0.2f}")
  bits = model.estimate_bits(image)
  if bits is not None:
    print(f"Information content (model estimate, bpp): "
          f"{float(bits) / (height * width):0.4f}")
  print(f"Actual bits per pixel: "
        f"{metrics.bits_per_pixel(len(packed), height, width):0.4f}")


def compress_all(script, args, prog):
  """Compresses every input image with one checkpoint of `script`."""
  from tfcsuite import coding, container
  jobs = coding_jobs.plan("compress", args.inputs, args.output_dir)
  set_up_memory(args)
  options = compress_options(script, args)
  path = args.model_path or script.default_checkpoint_path()
  models = CodingModels()

  def compress_one(job):
    image_io.check_writable(job.target, args.overwrite)
    image = image_io.read_image(job.source, args.max_pixels)
    try:
      checkpoint, model = models.get(script, path)
    except UserError as error:
      raise _Abort(str(error)) from None
    packed = container.pack(coding.encode(model, checkpoint, image, **options))
    image_io.write_bytes(job.target, packed, args.overwrite)
    if args.verbose:
      if len(jobs) > 1:
        print(f"{job.source} -> {job.target}")
      print_metrics(model, image, packed)

  return _run_jobs(jobs, compress_one, prog)


def decoded_image(data, models, script=None, model_path=None,
                  max_pixels=limits.MAX_PIXELS):
  """The image a compressed file's bytes decode to, or a `UserError`.

  `models` is a `CodingModels` cache; `script` and `model_path` as the
  decompress flags (see `decompress_all`).
  """
  from tfcsuite import coding, container
  parsed = container.unpack(data, script.name if script else None)
  file_script = script or zoo.load_script(parsed.model)
  path = model_path or zoo.checkpoint_folder_for_file(
      parsed.model, parsed.checkpoint, parsed.weights_crc32)
  if path is None:
    raise UserError(f"the file was made with checkpoint "
                    f"{parsed.checkpoint!r}, which is not in "
                    f"checkpoints/{parsed.model}/; pass --model_path")
  checkpoint, model = models.get(file_script, path)
  if checkpoint.fingerprint != parsed.weights_crc32:
    raise UserError(f"the file was compressed with other weights than "
                    f"those in {path!r} (fingerprint mismatch)")
  return coding.decode(model, parsed, max_pixels)


def decompress_all(args, prog, script=None):
  """Decompresses every input file with the checkpoint it names.

  Args:
    args: the parsed flags (inputs, output_dir, overwrite, lossy_output,
      model_path).
    prog: the program name for error lines.
    script: the `ModelScript` whose files these must be; None accepts the
      files of every registered model.
  """
  jobs = coding_jobs.plan("decompress", args.inputs, args.output_dir)
  set_up_memory(args)
  models = CodingModels()

  def decompress_one(job):
    image_io.check_writable(job.target, args.overwrite)
    image_io.check_decoded_output(job.target, args.lossy_output)
    image = decoded_image(image_io.read_bytes(job.source), models, script,
                          args.model_path, args.max_pixels)
    image_io.write_image(job.target, image, args.overwrite)

  return _run_jobs(jobs, decompress_one, prog)
