"""Evaluating a convolutional transform in overlapping spatial tiles.

A 24-megapixel photo through Ballé 2017's synthesis is a 1500x1000x128
activation of 768 MB before the last layer, and several of them alive at
once; coding such images in one piece took 3-6 GB (issue 19). A transform of
convolutions and pointwise layers computes each output from a bounded
neighbourhood of its input, so it can be evaluated on tiles of the input
extended by a margin that covers that neighbourhood: the cropped tile outputs
are the outputs of the whole image (up to float summation order), and memory
is bounded by the tile size instead of the image size.

`Geometry.of(layers)` derives what tiling needs from the layers themselves:
the output/input scale, the alignment of tile origins (the product of the
down-sampling strides, so every tile samples the same grid as the whole
image) and a margin at least the receptive-field radius, all in input
pixels. Known layers: TFC's `SignalConv2D` and `GDN`, Keras `Conv2D` and
`Conv2DTranspose` with "same" padding, pointwise layers (`Lambda` stages
of a `tfcsuite.layers.Transform` must be pointwise: a `Lambda` that pads or
shifts must be a layer stating its geometry instead) and custom layers that
state their geometry (`_flattened`). "valid" convolutions count where
explicit padding layers (Keras `ZeroPadding2D`, or a layer stating
`tiling_padding`) before or after them add what "same" padding would: e.g.
zero-pad 1 + valid 3x3, valid 3x3 + zero-pad 1, valid 3x3 + reflect-pad 2 +
valid 3x3 (`Geometry.of`). Padding at a tile's inner edges (zeros,
reflections) differs from the image there, like any padding, only within
the receptive field, which the margin covers. Any other layer makes the
transform untileable and it runs whole, as before.

Tiles are chosen by their size at the transform's full-resolution side
(`tile_size` pixels: the input of an analysis, the output of a synthesis);
images of at most 4 tiles of pixels there (by default 1 megapixel) are not
tiled, so results on Kodak-size images are bit-identical to untiled
evaluation.
"""

import ctypes
import dataclasses
import fractions
import math

import numpy as np
import tensorflow as tf
import tensorflow_compression as tfc

from tfcsuite import limits

# Side of a tile at full resolution (pixels); None disables tiling.
_tile_size = limits.DEFAULT_TILE_SIZE

_POINTWISE = (tfc.GDN, tf.keras.layers.Lambda, tf.keras.layers.Activation,
              tf.keras.layers.ReLU, tf.keras.layers.ELU,
              tf.keras.layers.LeakyReLU)


def set_tile_size(pixels):
  """Sets the tile side at full resolution; None or 0 disables tiling."""
  global _tile_size
  _tile_size = int(pixels) if pixels else None


def tile_size():
  return _tile_size


def _single(value):
  values = set(np.atleast_1d(value).tolist())
  return values.pop() if len(values) == 1 else None


def _convolution(layer):
  """(kernel radius, down stride, up stride, lacking padding), or None if
  unsupported. The lacking padding is the (before, after) pixels that a
  "valid" convolution needs from explicit padding layers to compute what a
  "same" one computes on sides that are multiples of its stride."""
  if isinstance(layer, tfc.SignalConv2D):
    if layer.padding != "same_zeros" or layer.channel_separable:
      return None
    return (max(layer.kernel_support) // 2, _single(layer.strides_down),
            _single(layer.strides_up), (0, 0))
  if isinstance(layer, tf.keras.layers.Conv2D):  # Also Conv2DTranspose.
    stride, kernel = _single(layer.strides), _single(layer.kernel_size)
    if (layer.padding not in ("same", "valid") or stride is None or
        _single(layer.dilation_rate) != 1 or
        (layer.padding == "valid" and kernel is None)):
      return None
    radius = max(layer.kernel_size) // 2
    if isinstance(layer, tf.keras.layers.Conv2DTranspose):
      # A valid one of kernel <= stride is the same one; a larger kernel
      # would add pixels, and an output padding shifts them.
      if layer.output_padding is not None or (
          layer.padding == "valid" and kernel > stride):
        return None
      return radius, 1, stride, (0, 0)
    lacking = max(kernel - stride, 0) if layer.padding == "valid" else 0
    return radius, stride, 1, (lacking // 2, lacking - lacking // 2)
  return None


def _padding(layer):
  """(before, after) pixels of an explicit padding layer (the same on both
  axes), None if unsupported."""
  if hasattr(layer, "tiling_padding"):
    return tuple(layer.tiling_padding)
  rows, cols = layer.padding
  if layer.data_format != "channels_last" or tuple(rows) != tuple(cols):
    return None
  return tuple(rows)


def _is_padding(layer):
  return (hasattr(layer, "tiling_padding") or
          isinstance(layer, tf.keras.layers.ZeroPadding2D))


def _flattened(layers):
  """The non-pointwise layers, composite ones replaced by their parts.

  A custom layer can state its geometry: `tiling_step`, its (kernel radius,
  down stride, up stride), e.g. a depth-to-space of block b is (0, 1, b);
  or `tiling_layers()`, the layers in order whose receptive field is its
  own (a residual block x + f(x): the layers of f); a padding layer states
  `tiling_padding`, the (before, after) pixels it adds on both axes.
  """
  for layer in layers:
    if hasattr(layer, "tiling_layers"):
      yield from _flattened(layer.tiling_layers())
    elif not isinstance(layer, _POINTWISE):
      yield layer


@dataclasses.dataclass(frozen=True)
class Geometry:
  """How a transform maps input positions to output positions.

  scale: output size over input size (e.g. 1/16 for an analysis).
  unit: tile origins must be multiples of this (input pixels).
  margin: input pixels added on each side of a tile, a multiple of `unit`.
  layers: (radius, down, up) of each layer, to compute output sizes.
  aligned: only inputs whose sides are multiples of `unit` can be tiled
    (Keras's strided convolutions place their samples by the parity of the
    size, and padding + a strided "valid" one equals "same" only there).
  """
  scale: fractions.Fraction
  unit: int
  margin: int
  layers: tuple
  aligned: bool = False

  @classmethod
  def of(cls, layers):
    """The geometry of `layers` applied in order, or None if unknown."""
    scale, unit, radius, steps = fractions.Fraction(1), 1, fractions.Fraction(0), []
    aligned = False
    # Explicit padding not yet used by "valid" convolutions (negative: used
    # ahead, by a valid convolution that a padding layer follows). It must
    # be zero wherever the resolution changes and at the end, so that every
    # layer's output grid is the "same" one.
    balance = np.zeros(2, int)
    for layer in _flattened(layers):
      if _is_padding(layer):
        padding = _padding(layer)
        if padding is None:
          return None
        balance += padding
        continue
      step = getattr(layer, "tiling_step", None)
      step = (*step, (0, 0)) if step else _convolution(layer)
      if step is None or None in step:
        return None
      kernel_radius, down, up, lacking = step
      balance -= lacking
      if (down != 1 or up != 1) and balance.any():
        return None
      aligned |= down > 1 and isinstance(layer, tf.keras.layers.Conv2D)
      # Radius of one output's dependence, in this layer's input pixels,
      # plus one stride of slack for where the strided grid falls.
      local = kernel_radius + down if up == 1 else -(-kernel_radius // up) + 1
      radius += fractions.Fraction(local) / scale
      scale = scale / down * up
      unit *= down
      steps.append((kernel_radius, down, up))
    if balance.any():
      return None
    margin = unit * math.ceil(radius / unit)
    return cls(scale, unit, margin, tuple(steps), aligned)

  def output_size(self, size):
    """Output side of an input side (every layer: "same" padding)."""
    for _, down, up in self.layers:
      size = -(-size // down) * up
    return size

  def input_tile(self, full_resolution_tile):
    """Input pixels per tile for a tile side at full resolution."""
    side = full_resolution_tile / max(self.scale, 1)
    return max(self.unit, int(side) // self.unit * self.unit)


def _ranges(size, tile, margin):
  """(start, end, extended start, extended end) of each tile along a side."""
  for start in range(0, size, tile):
    end = min(start + tile, size)
    yield start, end, max(start - margin, 0), min(end + margin, size)


def should_tile(geometry, input_shape):
  """Whether an input of `input_shape` (batch, H, W, C) is tiled."""
  if geometry is None or _tile_size is None or not tf.executing_eagerly():
    return False
  height, width = input_shape[1:3]
  if height is None or width is None:
    return False
  if geometry.aligned and (height % geometry.unit or width % geometry.unit):
    return False
  full = max(geometry.scale, 1)
  return height * width * full * full > 4 * _tile_size ** 2


def apply_tiled(function, x, geometry, full_resolution_tile=None,
                with_window=False):
  """`function(x)` for a (batch, H, W, C) `x`, computed tile by tile.

  `full_resolution_tile`: the tile side at full resolution (default: the
  configured `tile_size()`). `with_window`: `function(tile, window)` also
  gets the tile's (top, bottom, left, right) in `x`'s pixels, e.g. to slice
  another input alike. Returns a numpy array of the tiles' dtype
  (assembled in place: one copy of the output, not several).
  """
  height, width = x.shape[1:3]
  tile = geometry.input_tile(full_resolution_tile or _tile_size)
  scale = geometry.scale
  output = None
  for top, bottom, ext_top, ext_bottom in _ranges(height, tile,
                                                  geometry.margin):
    for left, right, ext_left, ext_right in _ranges(width, tile,
                                                    geometry.margin):
      window = (ext_top, ext_bottom, ext_left, ext_right)
      part = x[:, ext_top:ext_bottom, ext_left:ext_right, :]
      piece = np.asarray(function(part, window) if with_window else
                         function(part))
      del part
      expected = (geometry.output_size(ext_bottom - ext_top),
                  geometry.output_size(ext_right - ext_left))
      if piece.shape[1:3] != expected:
        raise ValueError(f"tile output {piece.shape[1:3]} is not the "
                         f"expected {expected}: unsupported layer geometry")
      if output is None:
        output = np.empty((piece.shape[0], geometry.output_size(height),
                           geometry.output_size(width), piece.shape[3]),
                          piece.dtype)
      # The tile's core, in output pixels (the last tile runs to the end).
      rows = (int((top - ext_top) * scale),
              piece.shape[1] if bottom == height else
              int((bottom - ext_top) * scale))
      cols = (int((left - ext_left) * scale),
              piece.shape[2] if right == width else
              int((right - ext_left) * scale))
      out_top, out_left = int(top * scale), int(left * scale)
      output[:, out_top:out_top + rows[1] - rows[0],
             out_left:out_left + cols[1] - cols[0], :] = (
                 piece[:, rows[0]:rows[1], cols[0]:cols[1], :])
      del piece
      _release_free_memory()
  return output


def _release_free_memory():
  """Returns freed heap memory to the system (glibc keeps it per thread
  arena, and TensorFlow's threads would otherwise hold each tile's
  temporaries: several hundred MB on a 24-megapixel image)."""
  if _LIBC is not None:
    _LIBC.malloc_trim(0)


def _glibc():
  try:
    libc = ctypes.CDLL("libc.so.6")
    libc.malloc_trim  # pylint: disable=pointless-statement
    return libc
  except (OSError, AttributeError):
    return None


_LIBC = _glibc()
