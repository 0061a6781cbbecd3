"""Layer builders shared by the model scripts.

Every transform is built in one of two ways from the same code:

* for training (`weights=None`): TFC's reparameterized layers, i.e.
  `tfc.SignalConv2D` with RDFT kernel parameters and `tfc.GDN` with its
  pedestal reparameterization of beta and gamma;
* for coding (`weights` a dict of arrays): the same layers with the
  *materialized* kernels, biases, beta and gamma given as constants, so that no
  reparameterization is evaluated at inference and checkpoints store the
  function the network computes rather than one way of parameterizing it.
"""

import tensorflow as tf
import tensorflow_compression as tfc

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
  """

  def __init__(self, layers, name):
    super().__init__(name=name)
    self.layers = list(layers)

  def call(self, x):
    for layer in self.layers:
      x = layer(x)
    return x


def _constant(weights, key):
  return tf.constant(weights[key], dtype=tf.float32)


def signal_conv(prefix, name, filters, kernel_size, weights=None, *,
                corr, strides_down=1, strides_up=1, use_bias=True):
  """A `tfc.SignalConv2D` with "same_zeros" padding, as in TFC's models."""
  kwargs = dict(
      filters=filters, kernel_support=kernel_size, name=name, corr=corr,
      strides_down=strides_down, strides_up=strides_up,
      padding="same_zeros", use_bias=use_bias, activation=None)
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


def materialized_weights(transform):
  """Returns {"<transform>/<layer>/<kernel|bias|beta|gamma>": array}."""
  weights = {}
  for layer in transform.layers:
    key = f"{transform.name}/{layer.name}"
    if isinstance(layer, tfc.SignalConv2D):
      weights[f"{key}/kernel"] = layer.kernel.numpy()
      if layer.use_bias:
        weights[f"{key}/bias"] = layer.bias.numpy()
    elif isinstance(layer, tfc.GDN):
      weights[f"{key}/beta"] = layer.beta.numpy()
      weights[f"{key}/gamma"] = layer.gamma.numpy()
  return weights


def initialize_from(transform, weights):
  """Sets a trainable transform so it computes the given materialized weights.

  Used by `train --init_from` to fine-tune from a shipped checkpoint: each
  reparameterized variable is set to the inverse reparameterization of the
  stored value (exact for RDFT kernels, and for GDN up to its lower bounds).
  """
  for layer in transform.layers:
    key = f"{transform.name}/{layer.name}"
    if isinstance(layer, tfc.SignalConv2D):
      param = layer.kernel_parameter
      fresh = tfc.RDFTParameter(weights[f"{key}/kernel"], name="init")
      for variable, value in zip(param.variables, fresh.variables):
        variable.assign(value)
      if layer.use_bias:
        layer.bias_parameter.assign(weights[f"{key}/bias"])
    elif isinstance(layer, tfc.GDN):
      for attribute in ("beta", "gamma"):
        param = getattr(layer, f"{attribute}_parameter")
        fresh = type(param)(weights[f"{key}/{attribute}"], name="init",
                            minimum=param.minimum)
        for variable, value in zip(param.variables, fresh.variables):
          variable.assign(value)
