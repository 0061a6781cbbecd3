#!/usr/bin/env python3
"""A toy binary autoencoder: a model of another kind than Ballé's.

It exists to prove the shared model contract (tests/test_model_contract.py):
it is not registered in tfcsuite.zoo, has no lambda and no entropy model in
its loss, and plugs into the CLI, the trainer and the harness through the
public contract alone.

  encoder: 4x4 conv, stride 4, to C channels, sigmoid, binarized to {0, 1}
           (straight-through gradient; NPEG-like)
  decoder: 4x4 transposed conv, stride 4, back to RGB
  loss:    MSE (pixels in [0, 1]) + sparsity * mean(code^2), plus the
           cross-entropy of a per-channel Bernoulli model of the (fixed) code,
           which only fits that model
  coding:  the bits, range-coded with TFC's range coder under the Bernoulli
           model, whose table is stored in the checkpoint
"""

import dataclasses

import numpy as np
import tensorflow as tf
import tensorflow_compression as tfc

from tfcsuite import cli, coding, config, trainable, zoo

PRECISION = 12  # Bits of the range coder's probabilities.
BLOCK = 4  # Pixels per code element along each side.


@dataclasses.dataclass
class Config(config.ModelConfig):
  code_channels: int = config.setting(8, "Bits per 4x4 block of pixels.")
  sparsity: float = config.setting(0.01, "Weight of the mean(code^2) term.")


class BernoulliModel(tf.keras.layers.Layer):
  """One probability of a 1 per code channel, as a logit."""

  def __init__(self, channels):
    super().__init__(name="bernoulli")
    self.logits = self.add_weight("logits", shape=(channels,),
                                  initializer="zeros")

  def bits(self, code):
    """Information content of a {0, 1} code (..., channels), in bits."""
    return tf.nn.sigmoid_cross_entropy_with_logits(
        labels=code, logits=tf.broadcast_to(self.logits, tf.shape(code))
    ) / np.log(2.)

  def lookup(self):
    """Range-coder table: per channel [precision, 0, P(0) * 2^p, 2^p]."""
    one = 2 ** PRECISION
    p0 = 1. / (1. + np.exp(self.logits.numpy().astype(np.float64)))
    zero = np.clip(np.round(p0 * one), 1, one - 1).astype(np.int32)
    return np.stack([np.full_like(zero, PRECISION), np.zeros_like(zero), zero,
                     np.full_like(zero, one)], axis=1)


class BinaryAutoencoder(trainable.TrainableModel, coding.CodingModel):
  """Trainable, or for coding with a checkpoint's `weights`."""

  metric_names = ("loss", "bpp", "mse")
  layout = coding.Layout(strings=("bits",), integers=(("code_shape", 2),))

  def __init__(self, config, weights=None):
    super().__init__()
    self.sparsity = config.sparsity
    self.encoder = tf.keras.layers.Conv2D(
        config.code_channels, BLOCK, strides=BLOCK, name="encoder")
    self.decoder = tf.keras.layers.Conv2DTranspose(
        3, BLOCK, strides=BLOCK, name="decoder")
    self.bernoulli = BernoulliModel(config.code_channels)
    self.decoder(self.encoder(tf.zeros((1, BLOCK, BLOCK, 3))))  # Variables.
    if weights is not None:
      self.initialize_from(weights)
      self.table = weights["bernoulli/lookup"]

  def binary_code(self, x):
    """{0, 1} code of images in [0, 1], straight-through differentiable."""
    probabilities = tf.sigmoid(self.encoder(x))
    return probabilities + tf.stop_gradient(
        tf.round(probabilities) - probabilities)

  def loss_terms(self, batch, training):
    del training  # The same terms in training and evaluation.
    x = batch / 255.
    code = self.binary_code(x)
    x_hat = self.decoder(code)
    mse = tf.reduce_mean(tf.math.squared_difference(x, x_hat))
    fit = tf.reduce_mean(self.bernoulli.bits(tf.stop_gradient(code)))
    pixels = tf.cast(tf.reduce_prod(tf.shape(x)[:3]), tf.float32)
    bpp = tf.reduce_sum(self.bernoulli.bits(code)) / pixels
    loss = mse + self.sparsity * tf.reduce_mean(tf.square(code)) + fit
    return dict(loss=loss, bpp=bpp, mse=mse * 255. ** 2)

  def export_weights(self):
    return dict(super().export_weights(),
                **{"bernoulli/lookup": self.bernoulli.lookup()})

  # Coding.

  def _code(self, image):
    height, width = image.shape[:2]
    padded = np.pad(image, [(0, -height % BLOCK), (0, -width % BLOCK),
                            (0, 0)], mode="edge")
    code = tf.round(tf.sigmoid(self.encoder(
        tf.constant(padded, tf.float32)[None] / 255.)))[0]
    return tf.cast(code, tf.int32)

  def _channel_indexes(self, code_shape):
    channels = self.table.shape[0]
    return tf.broadcast_to(tf.range(channels, dtype=tf.int32),
                           tuple(code_shape) + (channels,))

  def compress(self, image):
    code = self._code(image)
    handle = tfc.create_range_encoder([], self.table)
    handle = tfc.entropy_encode_index(
        handle, self._channel_indexes(code.shape[:2]), code)
    return dict(bits=tfc.entropy_encode_finalize(handle),
                code_shape=code.shape[:2])

  def decompress(self, fields, shape):
    code_shape = fields["code_shape"]
    if tuple(code_shape) != (-(-shape[0] // BLOCK), -(-shape[1] // BLOCK)):
      raise coding.ContainerError("code shape does not match the image size")
    indexes = self._channel_indexes(code_shape)
    handle = tfc.create_range_decoder(fields["bits"], self.table)
    handle, code = tfc.entropy_decode_index(handle, indexes, indexes.shape,
                                            tf.int32)
    if not tfc.entropy_decode_finalize(handle):
      raise coding.ContainerError("range decoding failed")
    x_hat = self.decoder(tf.cast(code, tf.float32)[None]) * 255.
    return coding.reconstructed_image(x_hat, shape)

  def estimate_bits(self, image):
    return float(tf.reduce_sum(self.bernoulli.bits(
        tf.cast(self._code(image), tf.float32))))


SCRIPT = zoo.ModelScript(
    name="toy_binary", description=__doc__.splitlines()[0],
    model=BinaryAutoencoder, config=Config, default_checkpoint="toy")

if __name__ == "__main__":
  cli.main(SCRIPT)
