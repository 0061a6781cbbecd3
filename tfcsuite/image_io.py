"""Reading images into 8-bit RGB arrays, and writing files atomically.

Conversion rules for `read_image` (documented in the README):
  * EXIF orientation is applied, so the array is the image as viewers show it.
  * Grayscale, palette, CMYK, YCbCr, LAB and HSV images become RGB by Pillow's
    standard conversion (gray values are replicated to R, G and B).
  * Transparency (RGBA, LA, palette with transparency) is composited onto a
    white background, as a viewer would show it.
  * 16-bit images (grayscale "I;16" and 16-bit PNG) are reduced to 8 bits by
    rounding value / 257 (65535 maps to 255).
  * Animated images (GIF, WebP, APNG) use their first frame.
  * Floating-point images and images with no pixels are refused.

Decoded images are written losslessly (PNG, BMP, TIFF, PPM, TGA, JPEG 2000)
unless a command is told that a lossy format is wanted (`LOSSY_FORMATS`).
"""

import contextlib
import io
import os
import tempfile

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from tfcsuite import UserError, limits

# Formats that store 8-bit RGB and grayscale exactly with Pillow's defaults.
LOSSLESS_FORMATS = ("PNG", "BMP", "TIFF", "PPM", "TGA", "JPEG2000")
# Formats that would add their own loss to a decoded image.
LOSSY_FORMATS = ("JPEG", "WEBP", "AVIF")
# Quality of the lossy formats when asked for one anyway.
LOSSY_QUALITY = 95


def _to_rgb(image):
  if image.mode in ("I;16", "I;16L", "I;16B", "I;16N", "I"):
    values = np.asarray(image, dtype=np.float64)
    if values.min() < 0 or values.max() > 65535:
      raise UserError(f"unsupported {image.mode} image with values outside "
                      f"0..65535")
    gray = np.round(values / 257.).astype(np.uint8)
    return np.repeat(gray[..., None], 3, axis=-1)
  if image.mode == "F":
    raise UserError("floating-point images are not supported; convert to "
                    "8-bit or 16-bit first")
  has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or (
      image.mode == "P" and "transparency" in image.info)
  if has_alpha:
    rgba = image.convert("RGBA")
    white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
    image = Image.alpha_composite(white, rgba)
  return np.asarray(image.convert("RGB"), dtype=np.uint8)


@contextlib.contextmanager
def _input_errors(path):
  """Turns the usual ways an input file can be unusable into one-liners."""
  try:
    yield
  except FileNotFoundError:
    raise UserError(f"input file {path!r} does not exist") from None
  except IsADirectoryError:
    raise UserError(f"input {path!r} is a folder, not a file") from None
  except PermissionError:
    raise UserError(f"input file {path!r} is not readable") from None


@contextlib.contextmanager
def _pillow_size_check_off():
  limit = Image.MAX_IMAGE_PIXELS
  Image.MAX_IMAGE_PIXELS = None
  try:
    yield
  finally:
    Image.MAX_IMAGE_PIXELS = limit


def read_bytes(path):
  with _input_errors(path), open(path, "rb") as f:
    return f.read()


def read_image(path, max_pixels=limits.MAX_PIXELS):
  """Reads any Pillow-readable image as a uint8 array of shape (H, W, 3).

  An image of more than `max_pixels` pixels is refused from its header,
  before its pixels are decoded (Pillow's own bomb check is replaced by it).
  """
  try:
    with _input_errors(path), _pillow_size_check_off(), \
        Image.open(path) as image:
      width, height = image.size
      if width * height > max_pixels:
        raise UserError(f"{path!r} is {width}x{height} ({width * height:,} "
                        f"pixels), more than the limit of {max_pixels:,} "
                        f"(--max_pixels)")
      image.seek(0)
      image = ImageOps.exif_transpose(image)
      array = _to_rgb(image)
  except UnidentifiedImageError:
    raise UserError(f"{path!r} is not an image Pillow can read") from None
  except Image.DecompressionBombError as error:
    raise UserError(f"{path!r} is too large: {error}") from None
  except (OSError, SyntaxError, ValueError) as error:
    raise UserError(f"cannot decode image {path!r}: {error}") from None
  if array.size == 0:
    raise UserError(f"image {path!r} has no pixels")
  return array


def check_writable(path, overwrite):
  """Refuses to replace an existing file unless asked (`--overwrite`)."""
  if os.path.isdir(path):
    raise UserError(f"output {path!r} is a folder")
  if os.path.exists(path) and not overwrite:
    raise UserError(f"output file {path!r} exists; pass --overwrite to "
                    f"replace it")
  parent = os.path.dirname(os.path.abspath(path))
  if not os.path.isdir(parent):
    raise UserError(f"output folder {parent!r} does not exist")


def write_bytes(path, data, overwrite=False):
  """Writes a file atomically: a temp file in the same folder, then rename."""
  check_writable(path, overwrite)
  parent = os.path.dirname(os.path.abspath(path))
  handle, temp = tempfile.mkstemp(prefix=".tmp-", dir=parent)
  try:
    with os.fdopen(handle, "wb") as f:
      f.write(data)
    # mkstemp makes the file private; give it the usual umask permissions.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temp, 0o666 & ~umask)
    os.replace(temp, path)
  except BaseException:
    if os.path.exists(temp):
      os.unlink(temp)
    raise


def encode_image(array, format_name, **options):
  """Encodes a uint8 RGB array with Pillow, returning the file's bytes."""
  buffer = io.BytesIO()
  Image.fromarray(np.asarray(array, dtype=np.uint8)).save(
      buffer, format=format_name, **options)
  return buffer.getvalue()


def is_image_name(path):
  """Whether `path` has an extension of an image format Pillow reads."""
  extension = os.path.splitext(path)[1].lower()
  return Image.registered_extensions().get(extension) in Image.OPEN


def files_in_folder(folder, wanted, what):
  """The files directly in `folder` whose name is `wanted`, sorted by name.

  Hidden files (e.g. another process's unfinished temp files) are skipped;
  a folder without any is a `UserError` naming `what` it lacks.
  """
  found = [os.path.join(folder, name) for name in sorted(os.listdir(folder))
           if not name.startswith(".") and wanted(name) and
           os.path.isfile(os.path.join(folder, name))]
  if not found:
    raise UserError(f"folder {folder!r} holds no {what} files")
  return found


def images_in_folder(folder):
  """The image files (by extension) directly in `folder`, sorted by name."""
  return files_in_folder(folder, is_image_name, "image")


def _writer_format(path):
  """The Pillow format that writes `path`'s extension; a UserError if none."""
  extension = os.path.splitext(path)[1].lower()
  format_name = Image.registered_extensions().get(extension)
  if format_name is None or format_name not in Image.SAVE:
    raise UserError(f"cannot write images with extension {extension!r}; "
                    f"use .png")
  return format_name


def check_decoded_output(path, allow_lossy):
  """Refuses an output name for a decoded image before anything is decoded.

  Lossless formats are accepted, lossy ones only if `allow_lossy`: a JPEG of
  a decoded image is not the image the model decoded.
  """
  format_name = _writer_format(path)
  extension = os.path.splitext(path)[1].lower()
  if format_name in LOSSY_FORMATS and not allow_lossy:
    raise UserError(f"output {path!r} would be {format_name}, a lossy "
                    f"format: it would not hold the decoded image exactly; "
                    f"write .png, or pass --lossy_output to accept the "
                    f"extra loss")
  if format_name not in LOSSLESS_FORMATS + LOSSY_FORMATS:
    raise UserError(f"cannot write decoded images with extension "
                    f"{extension!r}; use .png, .bmp, .tif, .ppm, .tga or "
                    f".jp2 (or .jpg, .webp, .avif with --lossy_output)")


def write_image(path, array, overwrite=False):
  """Writes an image atomically in the format given by the file extension."""
  format_name = _writer_format(path)
  options = ({"quality": LOSSY_QUALITY} if format_name in LOSSY_FORMATS
             else {})
  write_bytes(path, encode_image(array, format_name, **options), overwrite)
