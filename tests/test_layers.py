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
