"""Layer builders shared by the model scripts.

Every transform is built in one of two ways from the same code:

* for training (`weights=None`): TFC's reparameterized layers, i.e.
  `tfc.SignalConv2D` with RDFT kernel parameters and `tfc.GDN` with its
  pedestal reparameterization of beta and gamma;
* for coding (`weights` a dict of arrays): the same layers with the
  *materialized* kernels, biases, beta and gamma given as constants, so that no
  reparameterization is evaluated at inference and checkpoints store the
  function the network computes rather than one way of parameterizing it.

`IntegerTransform` evaluates such a coding transform in exact fixed-point
arithmetic, for networks whose output must be bit-identical in the encoder and
the decoder.
"""

import numpy as np
import tensorflow as tf
import tensorflow_compression as tfc

from tfcsuite import tiling

# How trainable RDFT-parameterized kernels are turned into kernels:
#   "basis": one matrix product with a precomputed inverse-RDFT basis (ours);
#   "fft":   batched inverse FFTs, TFC's `RDFTParameter` as is.
# Both compute the same linear map of the same variables; see
# benchmarks/speed.py for the measured difference in step time.
RDFT_IMPLEMENTATIONS = ("basis", "fft")
_rdft_implementation = "basis"


def set_rdft_implementation(name):
  global _rdft_implementation
  if name not in RDFT_IMPLEMENTATIONS:
    raise ValueError(f"unknown RDFT implementation {name!r}")
  _rdft_implementation = name


class BasisRDFTParameter(tfc.RDFTParameter):
  """TFC's RDFT kernel parameterization, evaluated as one matrix product.

  TFC stores a kernel of shape (kh, kw, cin, cout) as the real and imaginary
  parts of its 2-D real DFT, variables of shape (cin, cout, kh, kw // 2 + 1),
  and recovers the kernel with `irfft2d` at every step: thousands of tiny FFTs.
  The inverse RDFT is linear, so we apply it as a product with a constant
  basis matrix (the inverse RDFT of every unit coefficient), computed once.
  Variables, names and the function computed are TFC's.
  """

  def __init__(self, initial_value, name=None, shape=None, dtype=None):
    super().__init__(initial_value, name=name, shape=shape, dtype=dtype)
    kh, kw = self.shape[:2]
    coefficients = self.real.shape[2:].num_elements()
    impulses = tf.eye(coefficients, dtype=tf.float64)
    impulses = tf.reshape(impulses, (coefficients,) + tuple(self.real.shape[2:]))
    norm = float(kh * kw) ** .5
    real_basis = tf.signal.irfft2d(
        tf.complex(impulses, tf.zeros_like(impulses)) * norm, fft_length=(kh, kw))
    imag_basis = tf.signal.irfft2d(
        tf.complex(tf.zeros_like(impulses), impulses) * norm, fft_length=(kh, kw))
    basis = tf.concat([tf.reshape(real_basis, (coefficients, kh * kw)),
                       tf.reshape(imag_basis, (coefficients, kh * kw))], 0)
    self._basis = tf.constant(tf.cast(basis, self.dtype))

  def __call__(self, compute_dtype=None):
    kh, kw, cin, cout = self.shape
    real = tf.reshape(self.real, (cin * cout, -1))
    imag = tf.reshape(self.imag, (cin * cout, -1))
    kernel = tf.matmul(tf.concat([real, imag], 1), self._basis)
    kernel = tf.transpose(tf.reshape(kernel, (cin, cout, kh, kw)), (2, 3, 0, 1))
    if compute_dtype is not None:
      kernel = tf.cast(kernel, compute_dtype)
    return kernel


class SignalConv2D(tfc.SignalConv2D):
  """`tfc.SignalConv2D` whose RDFT kernels use the configured implementation."""

  def build(self, input_shape):
    if (isinstance(self.kernel_parameter, str) and
        self.kernel_parameter == "rdft" and _rdft_implementation == "basis"):
      channels = tf.TensorShape(input_shape)[-1]
      shape = self.kernel_support + (channels, self.filters)
      self.kernel_parameter = BasisRDFTParameter(
          self.kernel_initializer(shape=shape, dtype=self.variable_dtype),
          name="kernel")
    super().build(input_shape)


class Transform(tf.keras.layers.Layer):
  """Applies `layers` in order: `tf.keras.Sequential` without its overhead.

  On its first call, a Sequential builds a symbolic Keras graph network and
  autograph-converts every layer, which takes over a second on this CPU and
  dominated the time of a `compress` process; coding needs none of that.

  `tile_fraction`: the side of its tiles as a fraction of the configured
  tile size (a transform with wide full-resolution activations takes
  smaller tiles, so that its memory per tile is like the others').
  """

  def __init__(self, layers, name, tile_fraction=1):
    super().__init__(name=name)
    self.layers = list(layers)
    self.geometry = tiling.Geometry.of(self.layers)
    self.tile_fraction = tile_fraction

  def __call__(self, x, *args, **kwargs):
    """As a Keras layer; a large eager input is evaluated in tiles.

    A tiled result is a float32 numpy array (see `tfcsuite.tiling`).
    """
    if not args and not kwargs:
      return self.apply(x)
    return super().__call__(x, *args, **kwargs)

  def untiled(self, x):
    """`self(x)`, never tiled: a tensor (e.g. to differentiate)."""
    return super().__call__(x)

  def apply(self, x, before=None, after=None):
    """`after(self(before(x)))` for pointwise `before` and `after` (None:
    none), e.g. the scaling of pixels. On a large eager input all three run
    tile by tile, so neither the prepared input nor the raw output exists
    whole (a float32 24-megapixel image is 288 MB); the result is then a
    numpy array.
    """
    before = before or (lambda t: t)
    after = after or (lambda t: t)
    layer_call = super().__call__
    if tiling.should_tile(self.geometry, x.shape):
      if not self.built:  # Creates the variables on a small input first.
        layer_call(before(x[:, :self.geometry.unit, :self.geometry.unit]))
      return tiling.apply_tiled(lambda tile: after(layer_call(before(tile))),
                                x, self.geometry,
                                tiling.tile_size() * self.tile_fraction)
    return after(layer_call(before(x)))

  def call(self, x):
    for layer in self.layers:
      x = layer(x)
    return x


# The sigmoid activation for Keras layers. Keras's own ("sigmoid") attaches
# its input to its output as `_keras_logits`, for its cross-entropy losses;
# an attribute set on an eager tensor is never freed (TF 2.14), so each
# eager call leaked a whole activation: 290 MB over the tiles of a
# 24-megapixel npeg decode. Same values, nothing attached.
sigmoid = tf.math.sigmoid


def _constant(weights, key):
  return tf.constant(weights[key], dtype=tf.float32)


def signal_conv(prefix, name, filters, kernel_size, weights=None, *,
                corr, strides_down=1, strides_up=1, use_bias=True,
                activation=None, kernel_parameter="rdft"):
  """A `tfc.SignalConv2D` with "same_zeros" padding, as in TFC's models.

  `kernel_parameter` is how a trainable kernel is parameterized: "rdft"
  (TFC's default) or "variable" (plain weights); coding layers always hold
  the materialized kernel.
  """
  kwargs = dict(
      filters=filters, kernel_support=kernel_size, name=name, corr=corr,
      strides_down=strides_down, strides_up=strides_up,
      padding="same_zeros", use_bias=use_bias, activation=activation,
      kernel_parameter=kernel_parameter)
  if weights is not None:
    kwargs["kernel_parameter"] = _constant(weights, f"{prefix}/{name}/kernel")
    if use_bias:
      kwargs["bias_parameter"] = _constant(weights, f"{prefix}/{name}/bias")
  return SignalConv2D(**kwargs)


def gdn(prefix, name, weights=None, *, inverse=False):
  """A `tfc.GDN` layer (generalized divisive normalization, Ballé 2016)."""
  kwargs = dict(name=name, inverse=inverse)
  if weights is not None:
    kwargs["beta_parameter"] = _constant(weights, f"{prefix}/{name}/beta")
    kwargs["gamma_parameter"] = _constant(weights, f"{prefix}/{name}/gamma")
  return tfc.GDN(**kwargs)


# Tile side (output pixels) of an `IntegerTransform` on a large input: on
# Ballé 2018's hyper-synthesis (192 float64 channels out), tiles of 16x16
# hyper-latents, whose float64 convolution buffers stay near 60 MB.
INTEGER_TILE_SIZE = 64

# Every integer of magnitude up to 2**53 is a float64, and so is the exact
# result of adding or multiplying two such integers while it stays below.
_FLOAT64_EXACT_INTEGERS = 2 ** 53


class IntegerTransform(tf.Module):
  """A coding transform of convolutions and ReLUs, evaluated exactly.

  When a network's output selects the entropy-coding distributions (the
  hyper-synthesis of Ballé et al. 2018 picks a scale per latent), encoder and
  decoder must compute it bit for bit alike, or range decoding derails at the
  first differing choice. Float32 convolutions do not guarantee that: their
  sums are rounded in an order that depends on the kernel implementation, the
  number of threads and the CPU. Ballé, Johnston and Minnen ("Integer networks
  for data compression with latent-variable models", ICLR 2019) therefore
  evaluate such networks in integer arithmetic; this does the same for a
  trained float network, in fixed point:

    * the input is rounded to a multiple of 2**-fraction_bits, and every
      activation is an integer in those units;
    * kernels become round(kernel * 2**kernel_bits) and biases
      round(bias * 2**(fraction_bits + kernel_bits)), so a layer's
      accumulator is an integer in units of 2**-(fraction_bits + kernel_bits);
    * each layer runs TFC's own `SignalConv2D` (same padding, strides and
      kernel flips as the float layer) in float64 on these integers, rescales
      the accumulator to activation units with round-half-to-even, then
      applies its ReLU, if any.

  Why this is exact: before each layer, activations are clipped to +-A with
  A = (2**53 - 1 - max|bias|) // L1, where L1 is the largest sum of absolute
  integer kernel values feeding one output channel; both are Python integers
  computed from the integer weights, so A is exact too. Then every product and
  every partial sum of every output is an integer of magnitude below 2**53,
  each float64 operation on them is exact, and the result cannot depend on
  the order of summation: not on threads, blocking, vector width or FMA. The
  rescaling (a power-of-two multiply and a rounding) is exact as well. The ops
  are pinned to the CPU because a GPU library may choose FFT-based
  convolution algorithms, which are not exact. In value units, A is
  2**(53 - fraction_bits - kernel_bits) = 2**19 divided by the kernel's float
  L1 norm: about 1e4 for an initialized Ballé 2018 hyper-synthesis, far above
  trained activations, so the clip exists only so that no input whatsoever
  can break the guarantee.

  The defaults balance the two rounding errors (of kernels, and of
  activations between layers): on that hyper-synthesis the outputs differ
  from the float network's by 2e-5 on average and 1e-4 at most, so rounding
  them to an integer index agrees with the float network except within
  about 1e-4 of a tie.
  """

  def __init__(self, transform, fraction_bits=14, kernel_bits=20):
    super().__init__(name=f"integer_{transform.name}")
    self.fraction_bits = int(fraction_bits)
    self.kernel_bits = int(kernel_bits)
    self._layers = [self._integer_layer(layer) for layer in transform.layers]
    self.geometry = transform.geometry

  def _integer_layer(self, layer):
    """(float64 convolution on integers, input clip A, applies ReLU)."""
    if not isinstance(layer, tfc.SignalConv2D) or layer.channel_separable:
      raise ValueError(f"{layer.name}: only (non-separable) SignalConv2D "
                       f"layers have an integer version")
    activation = getattr(layer.activation, "__name__", None)
    if activation not in ("linear", "relu"):
      raise ValueError(f"{layer.name}: activation {activation!r} has no "
                       f"exact integer version (only ReLU or none)")
    kernel = np.round(np.asarray(layer.kernel, np.float64) *
                      2. ** self.kernel_bits)
    bias = np.zeros(layer.filters)
    if layer.use_bias:
      bias = np.round(np.asarray(layer.bias, np.float64) *
                      2. ** (self.fraction_bits + self.kernel_bits))
    # Exact integer bounds (int64 sums of integers far below 2**63).
    l1 = int(np.abs(kernel).astype(np.int64).sum(axis=(0, 1, 2)).max())
    max_bias = int(np.abs(bias).max())
    limit = (_FLOAT64_EXACT_INTEGERS - 1 - max_bias) // max(l1, 1)
    if limit < 2 ** self.fraction_bits:
      raise ValueError(f"{layer.name}: weights too large for exact "
                       f"evaluation with {self.kernel_bits} kernel bits")
    convolution = tfc.SignalConv2D(
        filters=layer.filters, kernel_support=layer.kernel_support,
        corr=layer.corr, strides_down=layer.strides_down,
        strides_up=layer.strides_up, padding=layer.padding,
        extra_pad_end=layer.extra_pad_end, data_format=layer.data_format,
        use_explicit=layer.use_explicit, use_bias=True, activation=None,
        kernel_parameter=kernel, bias_parameter=bias, dtype=tf.float64,
        name=layer.name)
    return convolution, float(limit), activation == "relu"

  def __call__(self, x, finish=None):
    """Float input to float64 output, a multiple of 2**-fraction_bits; or
    `finish` of that output, for a pointwise `finish` (e.g. the rounding to
    table indexes).

    A large input is evaluated in tiles of `INTEGER_TILE_SIZE` output
    pixels (unless tiling is off): the results are exact, so tiles change
    nothing, and they bound the float64 temporaries (Ballé 2018's
    hyper-synthesis of a 24-megapixel image held 1.4 GB of them at once);
    `finish` then runs per tile, so its output is the only full-size array.
    """
    def evaluate(tile):
      values = self._evaluate(tile)
      return values if finish is None else finish(values)
    if (tiling.tile_size() and self.geometry is not None and
        tf.executing_eagerly() and None not in x.shape[1:3] and
        max(x.shape[1:3]) * self.geometry.scale > INTEGER_TILE_SIZE):
      return tiling.apply_tiled(evaluate, x, self.geometry, INTEGER_TILE_SIZE)
    return evaluate(x)

  def _evaluate(self, x):
    with tf.device("/CPU:0"):
      values = tf.round(tf.cast(x, tf.float64) * 2. ** self.fraction_bits)
      for convolution, limit, relu in self._layers:
        values = tf.clip_by_value(values, -limit, limit)
        values = tf.round(convolution(values) * 2. ** -self.kernel_bits)
        if relu:
          values = tf.maximum(values, 0.)
      return values * 2. ** -self.fraction_bits
