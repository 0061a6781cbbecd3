"""The coding contract: what a model offers to compress and decompress images.

A coding model derives from `CodingModel` and declares a `Layout`, the named
fields of its compressed file:

    layout = coding.Layout(strings=("latent",), integers=(("latent_shape", 2),))

  * `compress(image, **options)` takes a uint8 (H, W, 3) array and returns a
    dict with one entry per field: a byte string (bytes, or a string tensor
    of one element) for each of `layout.strings`, and `count` integers
    (a sequence or tensor) for each `(name, count)` of `layout.integers`.
    `options` are the model's compress-time options (`ModelScript`).
  * `decompress(fields, shape)` inverts it: `fields` maps each name to bytes
    or a tuple of ints, `shape` is the image's (H, W); it returns the uint8
    image (H, W, 3), or (H, W) for a grayscale model.

Optional capabilities, with defaults here: `estimate_bits(image)` (the model's
own rate estimate in bits, None if it has none), `reference_image(image)`
(what a reconstruction is compared with: the image itself, or e.g. its luma),
and two one-line texts that `compress -V` prints when a model gives them:
`describe_coding(fields, shape)` (what a file holds beyond its size, e.g. the
codec quality it used) and `describe_reference()` (what `reference_image`
returns, when it is not the image itself); and `illustrations(image)`, what
the model makes of an image besides its reconstruction, for the visual
report (benchmarks/report.py): a list of (caption, uint8 (H, W, 3) array),
e.g. an importance map or an intermediate image; [] by default.

The container (`tfcsuite.container`) stores the strings and the integers in
layout order. Models run eagerly: for one image, tracing a tf.function costs
far more than computing (Ballé 2017 on a Kodak image: first eager encode
0.10 s in benchmarks/results/speed.json, against about 1.7 s for a first
traced call), and encoder and decoder execute the very same kernels.
"""

import dataclasses
import re

import numpy as np
import tensorflow as tf

from tfcsuite import container as container_lib, guarded, limits
from tfcsuite.container import ContainerError


@dataclasses.dataclass(frozen=True)
class Layout:
  """Named contents of a compressed file, in the order they are stored.

  `strides` are (name, stride) pairs of the integer fields that hold a
  (height, width) derived from the image's: they must be the image's sides
  divided by `stride`, rounded up. Decoding checks them against the header
  before the model runs; any other field named "*_shape" must at least not
  exceed the image's sides (or `UNDECLARED_SHAPE_SLACK`). Together with the pixel limit this bounds what a
  crafted file can make a decoder allocate.
  """
  strings: tuple = ()
  integers: tuple = ()  # (name, count) pairs.
  strides: tuple = ()  # (name, stride) pairs.


class CodingModel:
  """Mixin stating the coding contract (see the module docstring)."""

  layout = Layout()

  def compress(self, image, **options):
    raise NotImplementedError

  def decompress(self, fields, shape):
    raise NotImplementedError

  def estimate_bits(self, image):
    """The model's estimate of the compressed size in bits, or None."""
    del image
    return None

  def reference_image(self, image):
    """What a reconstruction of `image` is compared with."""
    return image

  def describe_coding(self, fields, shape):
    """One line on what the fields of an (H, W) image hold, or None."""
    del fields, shape
    return None

  def describe_reference(self):
    """One line on what `reference_image` returns; None: the image itself."""
    return None

  def illustrations(self, image):
    """[(caption, uint8 (H, W, 3) array)]: how the model sees `image`."""
    del image
    return []


def to_uint8(x):
  """0..255 floats to 8-bit samples: rounded (half to even), saturated."""
  return tf.saturate_cast(tf.round(x), tf.uint8)


def reconstructed_image(x_hat, x_shape):
  """A synthesis output (1, H', W', C), 0..255, as the uint8 (H, W, C) image.

  Transforms work on sizes rounded up to their total stride; `x_shape` is
  the image's (H, W).
  """
  x_hat = x_hat[0, :x_shape[0], :x_shape[1], :]
  if x_hat.dtype == np.uint8:  # Converted tile by tile (`Transform.apply`).
    return np.asarray(x_hat)
  if not isinstance(x_hat, np.ndarray):
    return to_uint8(x_hat).numpy()
  # A tiled output (a large image): converted by bands of rows, so that the
  # temporaries stay small; the same values as saturate_cast(round(x)).
  image = np.empty(x_hat.shape, np.uint8)
  for top in range(0, x_hat.shape[0], 256):
    band = np.nan_to_num(np.round(x_hat[top:top + 256]))
    image[top:top + 256] = np.clip(band, 0, 255)
  return image


def _string(value, name):
  values = np.asarray(value).reshape(-1)
  if values.size != 1 or not isinstance(values[0], bytes):
    raise TypeError(f"compress field {name!r} must be one byte string")
  return bytes(values[0])


def _integers(value, name, count):
  values = [int(v) for v in np.asarray(value).reshape(-1)]
  if len(values) != count:
    raise TypeError(f"compress field {name!r} must hold {count} integers, "
                    f"not {len(values)}")
  return values


def encode(model, checkpoint, image, **options):
  """Compresses a uint8 image into a `Container` made with `checkpoint`."""
  fields = model.compress(image, **options)
  layout = model.layout
  expected = set(layout.strings) | {name for name, _ in layout.integers}
  if set(fields) != expected:
    raise TypeError(f"compress returned fields {sorted(fields)}, layout "
                    f"declares {sorted(expected)}")
  integers = []
  for name, count in layout.integers:
    integers += _integers(fields[name], name, count)
  height, width = image.shape[:2]
  return container_lib.Container(
      model=checkpoint.model, checkpoint=checkpoint.name,
      weights_crc32=checkpoint.fingerprint, height=height, width=width,
      integers=integers,
      strings=[_string(fields[name], name) for name in layout.strings])


def fields_of(layout, container):
  """The named fields of a `Container`; a `ContainerError` if they don't fit."""
  count = sum(n for _, n in layout.integers)
  if (len(container.strings) != len(layout.strings) or
      len(container.integers) != count):
    raise ContainerError("compressed file does not hold the data this model "
                         "reads")
  fields = dict(zip(layout.strings, container.strings))
  position = 0
  for name, count in layout.integers:
    fields[name] = tuple(container.integers[position:position + count])
    position += count
  return fields


# A "*_shape" field without a declared stride may exceed the image's sides
# up to this (a model may pad small images), which still bounds it.
UNDECLARED_SHAPE_SLACK = 256


def check_shapes(layout, container, max_pixels=limits.MAX_PIXELS):
  """Refuses a file whose declared sizes disagree or exceed `max_pixels`."""
  height, width = container.height, container.width
  if height < 1 or width < 1:
    raise ContainerError(f"compressed file declares an empty {width}x{height} "
                         f"image")
  if height * width > max_pixels:
    raise ContainerError(
        f"compressed file declares a {width}x{height} image "
        f"({height * width:,} pixels), more than the limit of "
        f"{max_pixels:,} (--max_pixels)")
  fields = fields_of(layout, container)
  strides = dict(layout.strides)
  for name, count in layout.integers:
    label = name.replace("_", " ")
    if name in strides:
      expected = tuple(-(-side // strides[name]) for side in (height, width))
      if fields[name] != expected:
        raise ContainerError(f"compressed file is corrupted: {label} "
                             f"{fields[name]} does not fit a {width}x{height} "
                             f"image (expected {expected})")
    elif name.endswith("_shape") and (
        count != 2 or not all(0 < v <= max(side, UNDECLARED_SHAPE_SLACK)
                              for v, side in zip(fields[name],
                                                 (height, width)))):
      raise ContainerError(f"compressed file is corrupted: {label} "
                           f"{fields[name]} does not fit a {width}x{height} "
                           f"image")
  return fields


def one_line(message):
  """The first line of a TensorFlow error, without its internal names."""
  lines = (message or "").strip().splitlines()
  line = lines[0] if lines else ""
  line = re.sub(r"\{\{[^}]*\}\}\s*", "", line)
  line = re.sub(r"\s*\[Op:[^\]]*\]", "", line)
  return line.strip() or "invalid data"


def decode(model, container, max_pixels=limits.MAX_PIXELS):
  """Decompresses a `Container` into a uint8 image.

  Shapes are checked first (`check_shapes`); what libraries print on the C-level stderr meanwhile (libjpeg's warnings
  on a damaged JPEG, TensorFlow's logs) is dropped: an error is our one
  line.
  """
  fields = check_shapes(model.layout, container, max_pixels)
  shape = (container.height, container.width)
  try:
    with guarded.quiet_stderr():
      image = model.decompress(fields, shape)
  except tf.errors.OpError as error:
    raise ContainerError("compressed payload is corrupted: " +
                         one_line(error.message)) from None
  return np.asarray(image)
