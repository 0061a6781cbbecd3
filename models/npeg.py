#!/usr/bin/env python3
"""npeg: a binary sigmoid autoencoder trained with code noise, made a codec.

Seed: Qin Yongliang's "npeg" (github.com/ctmakro/npeg), as republished by
Suman Kunwar, "Convolutional Neural Network (CNN) Image Compression"
(github.com/sumn2u/neuralnetwork-jpeg, train.py; TF1 + canton).

Shows: binarization learned through noise. Gaussian noise of a large
standard deviation (sigma) is added to the encoder's linear output before a
sigmoid, so only codes far from 0 survive it: the sigmoid's output is pushed
to 0 or 1, and at test time it is thresholded at 0.5 into a binary code. A
penalty 0.01 * mean(code^2) makes 1s costly. There is no rate term and no
entropy model in the seed.

Architecture as released (train.py), every convolution 3x3, stride 1, "same"
padding, with bias:
  encoder: x - 0.5; conv 16 + ELU; conv 32 + ELU; conv 64 + ELU; conv 128
           (linear); + N(0, sigma^2) noise when training; sigmoid
  decoder: conv 64 + ELU; conv 32 + ELU; conv 16 + ELU; conv 3; sigmoid
  loss:    mean((decoder(code) - x')^2) + 0.01 * mean(code^2), pixels in
           [0, 1], x' the input after a random per-image gain U(0.6, 1.4)
           and bias U(-0.2, 0.2), clipped to [0, 1] (augmentation)
  training: Adam 1e-3, batches of 20 CIFAR-10 images (32x32)

Faithfully, the code has 128 bits per pixel: more than the 24 of the raw
image before entropy coding. What we add to make it a real codec, none of
which changes what the encoder and decoder learn:
  * Entropy coding: the bits are range-coded (TFC's range coder) in channel
    order, each bit under a Bernoulli model conditioned on the bit of the
    previous channel at the same pixel (2 probabilities per channel). The
    probabilities are learned with the networks, by the cross-entropy of the
    (gradient-stopped) code, a term that only reaches them; their 12-bit
    coding table is stored in the checkpoint. bpp = file size.
  * Extension, not in the seed (`--downsampling N`): the first N encoder
    convolutions have stride 2 and the first N decoder convolutions are
    transposed convolutions with stride 2, so the code has 1/4^N as many
    positions; with `--code_channels` that is how the model compresses.
    The shipped `extended` checkpoint (the default) is N = 3 with 64
    channels: 1 raw bit per pixel before entropy coding. The shipped
    `faithful` checkpoint is the seed's configuration (N = 0, 128 channels). Images are edge-padded to a multiple of
    2^N and the reconstruction is cropped.

Deviations from the seed:
  * Data: CIFAR-10 is not available offline here; our checkpoints train on
    random 32x32 crops of BSDS500 photos (the trainer's `--patchsize 32
    --batchsize 20` defaults for this model). `--train_glob` takes any images.
  * Noise: `--code_noise` sigma (the seed's recipe: several runs at 15, or
    a curriculum from 0.1); `--code_noise_ramp_steps N` raises sigma
    linearly from 0.1 over the first N steps.
  * Adam at a constant 1e-3 by default, as the seed (the suite's other
    schedules are flags).

Usage:
  python models/npeg.py train --train_glob 'images/*.png'
  python models/npeg.py compress kodim01.png kodim01.tfci -V
  python models/npeg.py decompress kodim01.tfci kodim01.png
"""

import dataclasses

import numpy as np
import tensorflow as tf
import tensorflow_compression as tfc

from tfcsuite import cli, coding, config, entropy, layers, trainable, zoo

PRECISION = 12  # Bits of the range coder's probabilities.
ENCODER_FILTERS = (16, 32, 64)
DECODER_FILTERS = (64, 32, 16)


@dataclasses.dataclass
class Config(config.ModelConfig):
  code_channels: int = config.setting(128, "Bits per code position.")
  downsampling: int = config.setting(
      0, "Stride-2 layers in encoder and decoder (our extension; 0: the "
      "seed's model).", choices=(0, 1, 2, 3))
  code_noise: float = config.setting(
      15., "Standard deviation of the noise added before the sigmoid.")
  code_noise_ramp_steps: int = config.setting(
      0, "Steps over which the noise grows linearly from 0.1 to "
      "--code_noise (0: constant).")
  sparsity: float = config.setting(0.01, "Weight of mean(code^2).")


def _conv(filters, name, activation, strides=1, transposed=False):
  layer = tf.keras.layers.Conv2DTranspose if transposed else (
      tf.keras.layers.Conv2D)
  return layer(filters, 3, strides=strides, padding="same",
               activation=activation, name=name)


def encoder(config):
  """x in [0, 1] to the linear code (before noise and sigmoid)."""
  stages = [tf.keras.layers.Lambda(lambda x: x - .5)]
  for i, filters in enumerate(ENCODER_FILTERS):
    stages.append(_conv(filters, f"conv_{i}", "elu",
                        strides=2 if i < config.downsampling else 1))
  stages.append(_conv(config.code_channels, "conv_3", None))
  return layers.Transform(stages, name="encoder")


def decoder(config):
  """A code in [0, 1] to the image in [0, 1]."""
  stages = []
  for i, filters in enumerate(DECODER_FILTERS):
    upsamples = i < config.downsampling
    stages.append(_conv(filters, f"conv_{i}", "elu", strides=1 + upsamples,
                        transposed=upsamples))
  stages.append(_conv(3, "conv_3", layers.sigmoid))
  return layers.Transform(stages, name="decoder")


class ChannelBernoulli(tf.keras.layers.Layer):
  """P(bit = 1) per channel, given the previous channel's bit (2 contexts).

  Channel 0 is conditioned on a constant 0.
  """

  def __init__(self, channels):
    super().__init__(name="bit_model")
    self.logits = self.add_weight("logits", shape=(channels, 2),
                                  initializer="zeros")

  @staticmethod
  def contexts(code):
    """Index 2 * channel + previous channel's bit of every bit of `code`."""
    previous = tf.pad(code[..., :-1], [[0, 0]] * (code.shape.rank - 1) +
                      [[1, 0]])
    channels = tf.range(tf.shape(code)[-1])
    return 2 * channels + tf.cast(previous, tf.int32)

  def bits(self, code):
    """Information content of every bit of a {0, 1} code, in bits."""
    logits = tf.gather(tf.reshape(self.logits, [-1]), self.contexts(code))
    return tf.nn.sigmoid_cross_entropy_with_logits(
        labels=code, logits=logits) / np.log(2.)

  def coding_table(self):
    """Range-coder table, row 2c + b: [precision, 0, P(0) * 2^p, 2^p]."""
    one = 2 ** PRECISION
    p_zero = 1. / (1. + np.exp(self.logits.numpy().reshape(-1).astype(
        np.float64)))
    zero = np.clip(np.round(p_zero * one), 1, one - 1).astype(np.int32)
    return np.stack([np.full_like(zero, PRECISION), np.zeros_like(zero),
                     zero, np.full_like(zero, one)], axis=1)


class Npeg(trainable.TrainableModel, coding.CodingModel):
  """Encoder, decoder and bit model; trainable, or for coding with `weights`."""

  metric_names = ("loss", "seed_loss", "mse", "bpp", "ones")
  def __init__(self, config, weights=None):
    super().__init__()
    self.config = config
    self.layout = coding.Layout(
        strings=("bits",), integers=(("code_shape", 2),),
        strides=(("code_shape", 2 ** config.downsampling),))
    self.encoder = encoder(config)
    self.decoder = decoder(config)
    self.bit_model = ChannelBernoulli(config.code_channels)
    self.decoder(self.encoder(tf.zeros((1, 8, 8, 3))))  # Creates variables.
    if weights is not None:
      self.initialize_from(weights)
      self.table = weights["bit_model/table"]

  def code_noise(self):
    """Sigma at the current step (the optional linear ramp from 0.1)."""
    sigma, ramp = self.config.code_noise, self.config.code_noise_ramp_steps
    if not ramp:
      return tf.constant(sigma)
    progress = tf.minimum(tf.cast(self.optimizer.iterations, tf.float32) /
                          ramp, 1.)
    return .1 + (sigma - .1) * progress

  def loss_terms(self, batch, training):
    x = batch / 255.
    if training:  # The seed's augmentation, per image.
      shape = (tf.shape(x)[0], 1, 1, 1)
      x = tf.clip_by_value(x * tf.random.uniform(shape, .6, 1.4) +
                           tf.random.uniform(shape, -.2, .2), 0., 1.)
    linear = self.encoder(x)
    if training:
      code = tf.sigmoid(linear + tf.random.normal(tf.shape(linear)) *
                        self.code_noise())
    else:  # What the codec transmits.
      code = tf.cast(linear > 0., tf.float32)
    mse = tf.reduce_mean(tf.math.squared_difference(self.decoder(code), x))
    binary = tf.stop_gradient(tf.round(code))
    bits = self.bit_model.bits(binary)
    pixels = tf.cast(tf.reduce_prod(tf.shape(x)[:3]), tf.float32)
    seed_loss = mse + self.config.sparsity * tf.reduce_mean(tf.square(code))
    # The bit model's cross-entropy reaches only its logits.
    return dict(loss=seed_loss + tf.reduce_mean(bits), seed_loss=seed_loss,
                mse=mse * 255. ** 2,
                bpp=tf.reduce_sum(bits) / pixels,
                ones=tf.reduce_mean(binary))

  def export_weights(self):
    return dict(super().export_weights(),
                **{"bit_model/table": self.bit_model.coding_table()})

  # Coding: the code in channel order, each bit under its context.

  def _binary_code(self, image):
    """(h, w, channels) int32 code of a uint8 image, edge-padded."""
    multiple = 2 ** self.config.downsampling
    height, width = image.shape[:2]
    padded = np.pad(image, [(0, -height % multiple), (0, -width % multiple),
                            (0, 0)], mode="edge")
    linear = self.encoder(tf.constant(padded, tf.float32)[None] / 255.)
    return tf.cast(linear[0] > 0., tf.int32)

  def compress(self, image):
    code = self._binary_code(image)
    channel_major = tf.transpose(code, (2, 0, 1))
    contexts = tf.transpose(self.bit_model.contexts(code), (2, 0, 1))
    handle = tfc.create_range_encoder([], self.table)
    handle = tfc.entropy_encode_index(handle, contexts, channel_major)
    return dict(bits=tfc.entropy_encode_finalize(handle),
                code_shape=code.shape[:2])

  def decompress(self, fields, shape):
    code_shape = tuple(fields["code_shape"])  # Checked by the shared layer.
    handle = tfc.create_range_decoder(fields["bits"], self.table)
    handle, channels = entropy.decode_planes(
        handle, self.table.shape[0] // 2,
        lambda k, planes: 2 * k + (planes[-1] if planes else
                                   tf.zeros(code_shape, tf.int32)))
    if not tfc.entropy_decode_finalize(handle):
      raise coding.ContainerError("range decoding failed")
    code = tf.cast(tf.stack(channels, axis=-1), tf.float32)[None]
    return coding.reconstructed_image(self.decoder(code) * 255., shape)

  def estimate_bits(self, image):
    return float(tf.reduce_sum(self.bit_model.bits(
        tf.cast(self._binary_code(image), tf.float32))))


SCRIPT = zoo.ModelScript(
    name="npeg", description=__doc__.splitlines()[0], model=Npeg,
    config=Config, default_checkpoint="extended",
    # The seed: batches of 20 CIFAR images (32x32), Adam at 1e-3.
    training_defaults=dict(batchsize=20, patchsize=32,
                           lr_schedule="constant", learning_rate=1e-3))

if __name__ == "__main__":
  cli.main(SCRIPT)
