"""Which files a `compress` or `decompress` command reads and writes.

The positional names are inputs, or folders standing for the inputs they
hold (compress: the image files, by extension; decompress: the *.tfci
files). Each output goes next to its input, named IN.tfci (compress) or
IN.png (decompress), or into --output_dir.

Today's form `compress IN OUT` / `decompress IN OUT` stays: with exactly two
names and no --output_dir, the second is the output file unless it could
only be an input: for compress, a folder or a name with an image extension
(.png, .jpg, .webp, ...: compressed files are never images); for
decompress, a folder or a name ending in .tfci (decoded images never are).
"""

import dataclasses
import os

from tfcsuite import UserError, limits

CONTAINER_EXTENSION = ".tfci"
DECODED_EXTENSION = ".png"

HELP = {
    "compress": (
        "Images (PNG, JPEG, WebP, ...) or folders of images. With exactly two "
        "names and no --output_dir, the second is the output file (IN OUT, "
        "as before) unless it is a folder or has an image extension; "
        "otherwise each IN is written to IN.tfci."),
    "decompress": (
        "Compressed files or folders of *.tfci files. With exactly two names "
        "and no --output_dir, the second is the output image (IN OUT, as "
        "before) unless it is a folder or ends in .tfci; otherwise each IN "
        "is written to IN.png."),
}


@dataclasses.dataclass(frozen=True)
class Job:
  source: str
  target: str


def add_arguments(parser, command):
  """The file arguments of `command` ("compress" or "decompress")."""
  parser.add_argument("inputs", nargs="+", metavar="IN", help=HELP[command])
  parser.add_argument(
      "--output_dir", default=None,
      help="Write every output into this folder (as NAME.tfci or NAME.png); "
           "then every positional name is an input.")
  parser.add_argument("--overwrite", action="store_true",
                      help="Replace output files that exist.")
  if command == "decompress":
    parser.add_argument(
        "--lossy_output", action="store_true",
        help="Allow a lossy output format (.jpg, .jpeg, .webp, .avif), which "
             "adds its own loss to the decoded image.")
  limits.add_arguments(parser, command)


def _is_input_name(command, name):
  from tfcsuite import image_io  # Lazy: `tfcs --help` stays quick.
  if os.path.isdir(name):
    return True
  if command == "compress":
    return image_io.is_image_name(name)
  return name.lower().endswith(CONTAINER_EXTENSION)


def _inputs_in(command, folder):
  from tfcsuite import image_io
  if command == "compress":
    return image_io.images_in_folder(folder)
  return image_io.files_in_folder(
      folder, lambda name: name.lower().endswith(CONTAINER_EXTENSION),
      f"*{CONTAINER_EXTENSION}")


def plan(command, names, output_dir=None):
  """The `Job`s of `command` for the positional `names`.

  Raises a `UserError` for what makes the whole command wrong (an empty
  folder, a missing --output_dir, two inputs with one output); a bad single
  input is left for its job to report.
  """
  if (output_dir is None and len(names) == 2 and
      not _is_input_name(command, names[1])):
    return [Job(names[0], names[1])]
  if output_dir is not None and not os.path.isdir(output_dir):
    raise UserError(f"--output_dir {output_dir!r} is not a folder")
  sources = []
  for name in names:
    sources += _inputs_in(command, name) if os.path.isdir(name) else [name]
  extension = (CONTAINER_EXTENSION if command == "compress"
               else DECODED_EXTENSION)
  jobs, seen = [], {}
  for source in sources:
    target = source + extension
    if output_dir is not None:
      target = os.path.join(output_dir, os.path.basename(target))
    key = os.path.realpath(target)
    if key in seen:
      raise UserError(f"{seen[key]!r} and {source!r} would both be written "
                      f"to {target!r}")
    seen[key] = source
    jobs.append(Job(source, target))
  return jobs
