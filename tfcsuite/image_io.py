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
"""

import contextlib
import io
import os
import tempfile

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from tfcsuite import UserError


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


def read_bytes(path):
  with _input_errors(path), open(path, "rb") as f:
    return f.read()


def read_image(path):
  """Reads any Pillow-readable image as a uint8 array of shape (H, W, 3)."""
  try:
    with _input_errors(path), Image.open(path) as image:
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


def write_image(path, array, overwrite=False):
  """Writes an image atomically in the format given by the file extension."""
  extension = os.path.splitext(path)[1].lower()
  format_name = Image.registered_extensions().get(extension)
  if format_name is None or format_name not in Image.SAVE:
    raise UserError(f"cannot write images with extension {extension!r}; "
                    f"use .png")
  options = {"quality": 95} if format_name in ("JPEG", "WEBP") else {}
  write_bytes(path, encode_image(array, format_name, **options), overwrite)
