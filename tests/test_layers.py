"""The fast RDFT kernels compute TFC's function and gradients."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_compression as tfc

from tfcsuite import layers


@pytest.mark.parametrize("shape", [(9, 9, 3, 16), (5, 5, 16, 8), (4, 6, 2, 3)])
def test_basis_rdft_kernel_and_gradients_equal_tfc(shape):
  initial = tf.random.stateless_normal(shape, seed=(1, 2))
  reference = tfc.RDFTParameter(initial)
  fast = layers.BasisRDFTParameter(initial)
  np.testing.assert_array_equal(fast.real.numpy(), reference.real.numpy())
  with tf.GradientTape(persistent=True) as tape:
    expected, actual = reference(), fast()
    # A non-linear function of the kernel, so gradients are non-trivial.
    expected_loss = tf.reduce_sum(tf.sin(expected) * expected)
    actual_loss = tf.reduce_sum(tf.sin(actual) * actual)
  np.testing.assert_allclose(actual, expected, atol=1e-5)
  np.testing.assert_allclose(actual, initial, atol=1e-5)
  for got, want in zip(tape.gradient(actual_loss, [fast.real, fast.imag]),
                       tape.gradient(expected_loss,
                                     [reference.real, reference.imag])):
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def test_transform_outputs_and_gradients_equal_with_either_kernel():
  x = tf.random.stateless_uniform((2, 64, 64, 3), seed=(3, 4), maxval=255.)
  results = {}
  for implementation in layers.RDFT_IMPLEMENTATIONS:
    layers.set_rdft_implementation(implementation)
    tf.keras.utils.set_random_seed(5)
    conv = layers.signal_conv("t", "c", 8, (5, 5), corr=False, strides_up=2)
    with tf.GradientTape() as tape:
      y = conv(x)
      loss = tf.reduce_mean(y ** 2)
    results[implementation] = (y, tape.gradient(loss, conv.trainable_variables))
  layers.set_rdft_implementation("basis")
  (y_fast, g_fast), (y_fft, g_fft) = results["basis"], results["fft"]
  np.testing.assert_allclose(y_fast, y_fft, rtol=1e-4, atol=1e-3)
  for fast, fft in zip(g_fast, g_fft):
    np.testing.assert_allclose(fast, fft, rtol=1e-3, atol=1e-3)


def small_transform(weights):
  """Upsampling 5x5 conv + ReLU, then 3x3 conv: a hyper-synthesis in small."""
  return layers.Transform([
      layers.signal_conv("t", "up", 16, (5, 5), weights, corr=False,
                         strides_up=2, activation="relu"),
      layers.signal_conv("t", "out", 8, (3, 3), weights, corr=False),
  ], name="t")


def test_integer_transform_is_exact_in_any_summation_order():
  """Reordering input channels reorders every sum: exactness cannot tell."""
  rng = np.random.default_rng(0)
  weights = {
      "t/up/kernel": rng.normal(0, .05, (5, 5, 32, 16)),
      "t/up/bias": rng.normal(0, .1, 16),
      "t/out/kernel": rng.normal(0, .1, (3, 3, 16, 8)),
      "t/out/bias": rng.normal(0, .1, 8),
  }
  weights = {key: value.astype(np.float32) for key, value in weights.items()}
  order = rng.permutation(32)
  reordered = dict(weights)
  reordered["t/up/kernel"] = weights["t/up/kernel"][:, :, order]
  exact = layers.IntegerTransform(small_transform(weights))
  exact_reordered = layers.IntegerTransform(small_transform(reordered))
  x = rng.normal(0, 5, (1, 6, 7, 32)).astype(np.float32)
  output = exact(x).numpy()
  np.testing.assert_array_equal(exact_reordered(x[..., order]), output)
  units = output * 2 ** exact.fraction_bits  # A fixed-point output.
  np.testing.assert_array_equal(units, np.round(units))
  np.testing.assert_allclose(output, small_transform(weights)(x), atol=1e-3)
  # Inputs far beyond trained activations are clipped, never summed inexactly.
  huge = x * 1e12
  output = exact(huge).numpy()
  assert np.all(np.isfinite(output))
  np.testing.assert_array_equal(exact_reordered(huge[..., order]), output)
