#!/usr/bin/env python3
"""VAE-GAN generative compression with latent optimization (vineeths96).

Seed: Vineeth S, "Variational Generative Image Compression" (PyTorch),
github.com/vineeths96/Variational-Generative-Image-Compression (src/models.py,
src/VAE_GAN.py, src/parameters.py).

Shows: a generative codec. An encoder maps the image to a C-channel latent
in [-1, 1] at 1/4 resolution, a generator maps it back, and a discriminator
judges (image, latent) pairs, so the generator is trained by an adversarial
loss besides 2 * L1. At compression time the networks are frozen and the
latent is improved by gradient descent on the reconstruction error ("we
freeze the GAN model and optimize for the best latent vector").

Architecture as released (LeakyReLU slope 0.01 unless said; inputs in
[-1, 1]):
  encoder:   zero-pad (1, 2), 5x5/2 conv 64; the same to 128; 3 residual
             blocks (3x3 conv 128, LeakyReLU, 3x3 conv 128, + input); 5x5
             conv to C, tanh
  generator: 3x3 valid conv 64, zero-pad 1, 2x2/2 transposed conv 128; 3
             residual blocks; 3x3 valid conv 32, zero-pad 1, 2x2/2
             transposed conv 256; 3x3 valid conv 16, reflection pad, 3x3
             conv to RGB, tanh
  discriminator: the latent upsampled by transposed convs (12, 16, 24, 36,
             3 channels, LeakyReLU 0.2, tanh) and concatenated with the
             image; convs 64 (3x3), 128 (5x5/2), 32 (3x3/2), 16, 8 (3x3),
             LeakyReLU 0.2 and dropout 0.3 each, tanh; fully connected
             layers with sigmoids to one probability
  loss:      discriminator: BCE of real pairs (x, E(x)) against labels
             U(0.9, 1) and of fake pairs (G(E(x)), E(x)) against U(0, 0.1);
             encoder + generator: BCE(D(G(E(x)), E(x)), U(0.9, 1)) + 2 L1
  training:  Adam 5e-4, beta1 0.5 for every network, batches of 20

What we add to make it a codec (the seed stores float latents and counts a
compression ratio of elements, not a file):
  * Compression: the encoder's latent, then `--latent_steps` steps of Adam
    (`--latent_learning_rate`) on the MSE between the frozen generator's
    output and the image, clipped to [-1, 1] after each step; uniform
    quantization to 2^B levels (`--latent_bits` B); range coding (TFC's
    range coder) of every element under a per-channel distribution.
    bpp = file size.
  * The distributions are fitted to the quantized encoder latents during
    training: an exponential moving average (decay 0.99 per step) of a
    2048-bin histogram per channel, which never affects the networks. At
    export its 16-bit range-coding tables for B = 1..8 are stored in the
    checkpoint, so decoding needs neither the histogram nor the latent
    search: it decodes the integers and runs the generator.
  * Images are edge-padded to a multiple of 4 and at least 12 pixels a
    side (the generator's first valid 3x3 conv needs a 3x3 latent); the
    reconstruction is cropped.
  * Large images (`tfcsuite.tiling`) run through the encoder and generator
    in overlapping tiles, with the same result up to float rounding; the
    latent optimization then runs tile by tile (below).

Deviations from the seed:
  * The seed's discriminator update scores the fake pair twice (as "real"
    and as "fake"), which teaches it nothing; we score the real pair as real.
  * The seed's discriminator ends in a fully connected layer over a fixed
    218x178 input (8 * 54 * 44 features -> 2000 -> 100 -> 1); ours averages
    its 8 feature maps over positions and maps them by 100 sigmoid units to
    one logit (BCE on logits equals sigmoid + BCE), so any crop size works;
    its convolutions use "same" padding, and its latent upsampler gives
    exactly the image size (two of its transposed convs have stride 2).
  * The generator's last reflection pad is 2 instead of 3, so its output is
    exactly 4x the latent (the seed's is 4x + 2 pixels).
  * Keras' default (Glorot) initialization instead of N(0, 0.05) kernels,
    which with 128-channel 3x3 kernels amplify each layer and saturate the
    encoder's tanh at initialization (most latents at -1 or 1).
  * Data and budget: random crops of BSDS500 instead of 218x178 centre
    crops of Flickr8k/30k; far fewer steps (each checkpoint's manifest has
    its command, steps and time).
  * On a tiled image, each latent tile (with the generator's margin, 13
    latents) is optimized alone on its pixels' share of the image's MSE
    and its core kept: exact for the first step, then approximate.
  * `--adversarial_weight` scales the GAN term (seed: 1). Our checkpoints
    start with a run at 0 (the seed's 2 L1 alone, which skips the
    discriminator and its cost) and continue from it with the GAN term
    (`--init_from`); the seed trains adversarially from the first step.

Usage:
  python models/vaegan.py train --train_glob 'images/*.png'
  python models/vaegan.py compress kodim01.png kodim01.tfci --latent_steps 20
  python models/vaegan.py decompress kodim01.tfci kodim01.png
"""

import dataclasses
import fractions

import numpy as np
import tensorflow as tf
import tensorflow_compression as tfc

from tfcsuite import cli, coding, config, layers, tiling, trainable, zoo
from tfcsuite import weights as weights_lib

STRIDE = 4  # Image pixels per latent element along each side.
MIN_LATENT_SIDE = 3  # The generator's first valid 3x3 conv needs 3.
HISTOGRAM_BINS = 2048  # Fine bins of [-1, 1]; each B maps them to 2^B levels.
HISTOGRAM_DECAY = 0.99
PRECISION = 16  # Bits of the range coder's probabilities.
BITS = range(1, 9)  # Latent bits per element with a stored coding table.
SMOOTHING = 2. ** -12  # Probability mass spread over all levels.
LABEL_SMOOTHING = 0.1
ILLUSTRATED_STEPS = 10  # Latent optimization steps shown by `illustrations`.
L1_WEIGHT = 2.
# The generator's tiles are half the configured side: its last activations
# have 256 channels at full resolution (a 616x616 tile's are 389 MB; with
# 512-pixel tiles a 3012x2514 decode peaked at 1,570 MiB, with 256 at 1,129).
GENERATOR_TILE_FRACTION = .5
# Latent optimization tiles are this many times smaller on a side than the
# generator's: the gradient keeps several times the activations of the
# forward pass.
OPTIMIZATION_TILE_DIVISOR = 2


@dataclasses.dataclass
class Config(config.ModelConfig):
  latent_channels: int = config.setting(
      16, "Latent channels C (the seed: 2, 4, 8, 16, 28).")
  adversarial_weight: float = config.setting(
      1., "Weight of the GAN term (seed: 1; 0 trains encoder and generator "
      "on 2 L1 alone, without a discriminator).",
      type=cli.number_in_range(float, low=0))


@dataclasses.dataclass
class CompressOptions:
  latent_steps: int = config.setting(
      0, "Steps of latent optimization against the frozen generator "
      "(0: the encoder's latent).", type=cli.number_in_range(int, 0, 10000))
  latent_bits: int = config.setting(
      5, "Bits per latent element (uniform quantization of [-1, 1]).",
      type=cli.number_in_range(int, BITS[0], BITS[-1]))
  latent_learning_rate: float = config.setting(
      0.03, "Adam step size of the latent optimization.",
      type=cli.number_in_range(float, low=0))


def _leaky(slope):
  return tf.keras.layers.LeakyReLU(slope)


class ResidualBlock(tf.keras.layers.Layer):
  """x + conv(LeakyReLU(conv(x))), 3x3 convs with zero padding."""

  def __init__(self, filters, name):
    super().__init__(name=name)
    self.conv_a = tf.keras.layers.Conv2D(filters, 3, padding="same",
                                         name="conv_a")
    self.conv_b = tf.keras.layers.Conv2D(filters, 3, padding="same",
                                         name="conv_b")

  def call(self, x):
    return x + self.conv_b(tf.nn.leaky_relu(self.conv_a(x), 0.01))

  def tiling_layers(self):
    """What large images are tiled by (`tfcsuite.tiling`)."""
    return [self.conv_a, self.conv_b]


class ReflectionPadding2D(tf.keras.layers.Layer):
  """Pads both spatial axes by `pad` pixels mirrored about the edge one."""

  def __init__(self, pad):
    super().__init__()
    self.pad = pad

  @property
  def tiling_padding(self):
    """Pixels added before and after (`tfcsuite.tiling`)."""
    return self.pad, self.pad

  def call(self, x):
    pads = [[0, 0], [self.pad, self.pad], [self.pad, self.pad], [0, 0]]
    return tf.pad(x, pads, "REFLECT")


def _blocks():
  return [ResidualBlock(128, f"block_{i}") for i in range(3)]


def encoder(channels):
  """Image in [-1, 1] to the latent in [-1, 1], at 1/4 resolution."""
  conv = tf.keras.layers.Conv2D
  pad = tf.keras.layers.ZeroPadding2D(((1, 2), (1, 2)))
  return layers.Transform([
      pad, conv(64, 5, strides=2, name="conv_0"), _leaky(0.01),
      pad, conv(128, 5, strides=2, name="conv_1"), _leaky(0.01),
      *_blocks(),
      conv(channels, 5, padding="same", activation="tanh", name="conv_2"),
  ], name="encoder")


def generator():
  """Latent to the image in [-1, 1], 4x larger."""
  conv, up = tf.keras.layers.Conv2D, tf.keras.layers.Conv2DTranspose
  pad = tf.keras.layers.ZeroPadding2D(1)
  return layers.Transform([
      conv(64, 3, name="conv_0"), _leaky(0.01), pad,
      up(128, 2, strides=2, name="up_0"),
      *_blocks(),
      conv(32, 3, name="conv_1"), _leaky(0.01), pad,
      up(256, 2, strides=2, name="up_1"),
      conv(16, 3, name="conv_2"), _leaky(0.01),
      ReflectionPadding2D(2),
      conv(3, 3, activation="tanh", name="conv_3"),
  ], name="generator", tile_fraction=GENERATOR_TILE_FRACTION)


class Discriminator(tf.keras.layers.Layer):
  """Logit that an (image, latent) pair is real (see the module docstring)."""

  def __init__(self):
    super().__init__(name="discriminator")
    up = tf.keras.layers.Conv2DTranspose
    self.upsampler = [up(filters, size, strides=strides, padding="same",
                         name=f"up_{i}") for i, (filters, size, strides) in
                      enumerate(((12, 3, 1), (16, 3, 1), (24, 3, 2),
                                 (36, 5, 2), (3, 3, 1)))]
    self.convs = [tf.keras.layers.Conv2D(filters, size, strides=strides,
                                         padding="same", name=f"conv_{i}")
                  for i, (filters, size, strides) in
                  enumerate(((64, 3, 1), (128, 5, 2), (32, 3, 2), (16, 3, 1),
                             (8, 3, 1)))]
    self.hidden = tf.keras.layers.Dense(100, activation="sigmoid",
                                        name="hidden")
    self.logit = tf.keras.layers.Dense(1, name="logit")

  def call(self, image, latent, training=False):
    for layer in self.upsampler:
      latent = tf.nn.leaky_relu(layer(latent), 0.2)
    h = tf.concat([image, tf.tanh(latent)], axis=-1)
    for layer in self.convs:
      h = tf.nn.leaky_relu(layer(h), 0.2)
      if training:
        h = tf.nn.dropout(h, 0.3)
    h = tf.reduce_mean(tf.tanh(h), axis=(1, 2))
    return self.logit(self.hidden(h))[:, 0]


def quantize(latent, bits):
  """Latent in [-1, 1] to integers 0..2^bits - 1 (int32)."""
  levels = 2. ** bits - 1.
  return tf.cast(tf.round((tf.clip_by_value(latent, -1., 1.) + 1.) / 2. *
                          levels), tf.int32)


def dequantize(symbols, bits):
  return tf.cast(symbols, tf.float32) * (2. / (2. ** bits - 1.)) - 1.


class LatentHistogram(tf.keras.layers.Layer):
  """Moving-average histogram of each latent channel; the coding tables."""

  def __init__(self, channels):
    super().__init__(name="histogram")
    self.channels = channels
    self.frequencies = self.add_weight(
        "frequencies", shape=(channels, HISTOGRAM_BINS), trainable=False,
        initializer=tf.keras.initializers.Constant(1. / HISTOGRAM_BINS))

  def update(self, latent):
    bins = tf.clip_by_value(tf.cast(tf.floor((latent + 1.) / 2. *
                                             HISTOGRAM_BINS), tf.int32),
                            0, HISTOGRAM_BINS - 1)
    index = tf.reshape(bins + HISTOGRAM_BINS * tf.range(self.channels), [-1])
    counts = tf.math.bincount(index, minlength=self.channels * HISTOGRAM_BINS,
                              maxlength=self.channels * HISTOGRAM_BINS,
                              dtype=tf.float32)
    counts = tf.reshape(counts, (self.channels, HISTOGRAM_BINS))
    batch = counts / tf.reduce_sum(counts, axis=1, keepdims=True)
    self.frequencies.assign(HISTOGRAM_DECAY * self.frequencies +
                            (1. - HISTOGRAM_DECAY) * batch)

  def coding_tables(self):
    """{"latent/cdf_bits<B>": (C, 2^B + 2) int32 range-coder rows}."""
    frequencies = self.frequencies.numpy().astype(np.float64)
    centres = (np.arange(HISTOGRAM_BINS) + .5) / HISTOGRAM_BINS  # In [0, 1].
    tables = {}
    for bits in BITS:
      levels = 2 ** bits
      level = np.round(centres * (levels - 1)).astype(np.int64)
      pmf = np.stack([np.bincount(level, weights=row, minlength=levels)
                      for row in frequencies])
      pmf /= pmf.sum(axis=1, keepdims=True)
      pmf = (1. - SMOOTHING) * pmf + SMOOTHING / levels
      tables[f"latent/cdf_bits{bits}"] = np.stack([_cdf_row(p) for p in pmf])
    return tables


def _cdf_row(pmf):
  """[precision, 0, cdf...] with every symbol at least 1 / 2^precision."""
  total = 2 ** PRECISION
  counts = np.maximum(np.round(pmf * total).astype(np.int64), 1)
  counts[np.argmax(counts)] += total - counts.sum()
  return np.concatenate([[PRECISION, 0], np.cumsum(counts)]).astype(np.int32)


class Codec(tf.keras.layers.Layer):
  """What a checkpoint holds: encoder, generator, latent histogram."""

  def __init__(self, channels):
    super().__init__(name="codec")
    self.encoder = encoder(channels)
    self.generator = generator()
    self.histogram = LatentHistogram(channels)


def _bce(logits, low, high):
  """BCE against labels drawn uniformly from [low, high] per image."""
  labels = tf.random.uniform(tf.shape(logits), low, high)
  return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(
      labels=labels, logits=logits))


def _padded(image):
  """uint8 image edge-padded to a multiple of 4, at least 12 px, (1, H, W, 3)."""
  height, width = image.shape[:2]
  side = STRIDE * MIN_LATENT_SIDE
  pads = [(0, max(side, -(-n // STRIDE) * STRIDE) - n) for n in (height, width)]
  return np.pad(image, pads + [(0, 0)], mode="edge")[None]


def _signal(pixels):
  """uint8 pixels to [-1, 1]."""
  return tf.cast(pixels, tf.float32) / 127.5 - 1.


def _pixels(signal):
  """The generator's output in [-1, 1] to uint8 pixels."""
  return coding.to_uint8((signal + 1.) * 127.5)


def latent_shape(shape):
  return tuple(max(MIN_LATENT_SIDE, -(-n // STRIDE)) for n in shape)


class VaeGan(trainable.TrainableModel, coding.CodingModel):
  """Encoder, generator (and discriminator for training); coding with
  `weights`."""

  metric_names = ("loss", "l1", "mse", "adversarial", "discriminator")
  layout = coding.Layout(strings=("latent",), integers=(("latent_bits", 1),))

  def __init__(self, config, weights=None):
    super().__init__()
    self.config = config
    self.codec = Codec(config.latent_channels)
    latent = self.codec.encoder(tf.zeros((1, 16, 16, 3)))
    self.codec.generator(latent)  # Creates the variables.
    if weights is None:  # Training: the discriminator is never exported.
      self.discriminator = Discriminator()
      self.discriminator(tf.zeros((1, 16, 16, 3)), latent)
    else:
      self.initialize_from(weights)
      self.tables = {bits: weights[f"latent/cdf_bits{bits}"] for bits in BITS}

  def create_optimizers(self, learning_rate):
    def adam():  # The seed's betas.
      return self.adam(learning_rate, beta_1=.5, beta_2=.999)
    return dict(optimizer=adam(), discriminator_optimizer=adam())

  def export_weights(self):
    return dict(weights_lib.export(self.codec),
                **self.codec.histogram.coding_tables())

  def initialize_from(self, weights):
    weights_lib.restore(self.codec, weights)

  def _discriminator_terms(self, x, y, x_hat, training):
    real = self.discriminator(x, y, training=training)
    fake = self.discriminator(x_hat, y, training=training)
    return (_bce(real, 1. - LABEL_SMOOTHING, 1.) +
            _bce(fake, 0., LABEL_SMOOTHING))

  def _terms(self, x, training):
    """(E+G loss, metrics) of images in [-1, 1]; updates D when training."""
    y = self.codec.encoder(x)
    x_hat = self.codec.generator(y)
    l1 = tf.reduce_mean(tf.abs(x - x_hat))
    values = dict(l1=l1, mse=tf.reduce_mean(tf.square(x - x_hat)) * 127.5 ** 2,
                  adversarial=0., discriminator=0.)
    loss = L1_WEIGHT * l1
    if self.config.adversarial_weight > 0:
      pair = (x, tf.stop_gradient(y), tf.stop_gradient(x_hat))
      if training:  # The seed's order: D first, then E and G against it.
        with tf.GradientTape() as tape:
          values["discriminator"] = self._discriminator_terms(*pair, True)
        self.minimize(values["discriminator"], tape,
                      self.discriminator.trainable_variables,
                      self.discriminator_optimizer)
      else:
        values["discriminator"] = self._discriminator_terms(*pair, False)
      values["adversarial"] = _bce(
          self.discriminator(x_hat, y, training=training),
          1. - LABEL_SMOOTHING, 1.)
      loss += self.config.adversarial_weight * values["adversarial"]
    values["loss"] = loss
    return values, y

  def training_step(self, batch):
    with tf.GradientTape() as tape:
      values, y = self._terms(batch / 127.5 - 1., training=True)
    self.minimize(values["loss"], tape, self.codec.encoder.trainable_variables
                  + self.codec.generator.trainable_variables)
    self.codec.histogram.update(tf.stop_gradient(y))
    return values

  def evaluation_step(self, batch):
    return self._terms(batch / 127.5 - 1., training=False)[0]

  # Coding.

  def optimized_latent(self, image, steps, learning_rate):
    """The encoder's latent (1, h, w, C) after `steps` of Adam on the
    generator's MSE, clipped to [-1, 1]; on a large image, tile by tile."""
    pixels = _padded(image)
    y = self.codec.encoder.apply(pixels, before=_signal)
    if not steps:
      return y

    def optimized(latent, window):
      top, bottom, left, right = (STRIDE * side for side in window)
      target = _signal(pixels[:, top:bottom, left:right])
      # The tile's share of the image's mean (1 when untiled).
      share = target.shape[1] * target.shape[2] / np.prod(pixels.shape[1:3])
      return self._adam(tf.convert_to_tensor(latent), target, share, steps,
                        learning_rate)

    geometry = self.codec.generator.geometry
    if not tiling.should_tile(geometry, y.shape):
      return optimized(y, (0, y.shape[1], 0, y.shape[2]))
    latent_tile = int(tiling.tile_size() * GENERATOR_TILE_FRACTION /
                      (OPTIMIZATION_TILE_DIVISOR * STRIDE))
    return tiling.apply_tiled(
        optimized, y, tiling.Geometry(fractions.Fraction(1), 1,
                                      geometry.margin, ()),
        max(1, latent_tile), with_window=True)

  def _adam(self, y, x, share, steps, learning_rate):
    """`steps` of Adam on `share` * the MSE of the generator's `y` and `x`."""
    first, second = tf.zeros_like(y), tf.zeros_like(y)
    for step in range(1, steps + 1):
      with tf.GradientTape() as tape:
        tape.watch(y)
        loss = share * tf.reduce_mean(tf.square(
            self.codec.generator.untiled(y) - x))
      gradient = tape.gradient(loss, y)
      first = .9 * first + .1 * gradient
      second = .999 * second + .001 * tf.square(gradient)
      update = (first / (1. - .9 ** step)) / (
          tf.sqrt(second / (1. - .999 ** step)) + 1e-8)
      y = tf.clip_by_value(y - learning_rate * update, -1., 1.)
    return y

  def _indexes(self, shape):
    channels = self.config.latent_channels
    return tf.broadcast_to(tf.range(channels), tuple(shape) + (channels,))

  def compress(self, image, **options):
    options = CompressOptions(**options)
    y = self.optimized_latent(image, options.latent_steps,
                              options.latent_learning_rate)
    symbols = quantize(y[0], options.latent_bits)
    handle = tfc.create_range_encoder([], self.tables[options.latent_bits])
    handle = tfc.entropy_encode_index(handle, self._indexes(symbols.shape[:2]),
                                      symbols)
    return dict(latent=tfc.entropy_encode_finalize(handle),
                latent_bits=[options.latent_bits])

  def _reconstruction(self, y, shape):
    return coding.reconstructed_image(
        self.codec.generator.apply(y, after=_pixels), shape)

  def decompress(self, fields, shape):
    # The integers are freed before the generator runs (192 MB at 24 MP).
    return self._reconstruction(self._decoded_latent(fields, shape), shape)

  def _decoded_latent(self, fields, shape):
    (bits,) = fields["latent_bits"]
    if bits not in self.tables:
      raise coding.ContainerError(f"unsupported latent bits {bits}")
    indexes = self._indexes(latent_shape(shape))
    handle = tfc.create_range_decoder(fields["latent"], self.tables[bits])
    handle, symbols = tfc.entropy_decode_index(handle, indexes,
                                               indexes.shape, tf.int32)
    if not tfc.entropy_decode_finalize(handle):
      raise coding.ContainerError("range decoding failed")
    return dequantize(symbols, bits)[None]

  def estimate_bits(self, image):
    """Information content of the encoder's quantized latent (bits) at the
    default --latent_bits."""
    bits = CompressOptions().latent_bits
    symbols = quantize(self.optimized_latent(image, 0, 0.)[0], bits).numpy()
    cdf = self.tables[bits][:, 1:].astype(np.float64) / 2 ** PRECISION
    channels = np.broadcast_to(np.arange(symbols.shape[-1]), symbols.shape)
    return float(-np.sum(np.log2(cdf[channels, symbols + 1] -
                                 cdf[channels, symbols])))

  def describe_coding(self, fields, shape):
    height, width = latent_shape(shape)
    return (f"latent {self.config.latent_channels} x {height} x {width} at "
            f"{fields['latent_bits'][0]} bits per element")

  def illustrations(self, image):
    """[(caption, uint8 image)]: what files decode to without and with
    ILLUSTRATED_STEPS steps of latent optimization (default options)."""
    options = CompressOptions()
    bits = options.latent_bits
    return [(f"{n} latent steps, {bits} bits", self._reconstruction(
        dequantize(quantize(self.optimized_latent(
            image, n, options.latent_learning_rate), bits), bits),
        image.shape[:2])) for n in (0, ILLUSTRATED_STEPS)]


def operating_points(checkpoint):
  """The harness measures the encoder's latent (no latent search: its cost
  on 24 full Kodak images is far beyond the harness's budget here)."""
  del checkpoint
  return [("", dict(latent_steps=0))]


SCRIPT = zoo.ModelScript(
    name="vaegan", description=__doc__.splitlines()[0], model=VaeGan,
    config=Config, default_checkpoint="c16", compress_options=CompressOptions,
    operating_points=operating_points,
    # The seed: Adam 5e-4 at a constant rate; small crops for CPU training.
    training_defaults=dict(batchsize=8, patchsize=64, lr_schedule="constant",
                           learning_rate=5e-4))

if __name__ == "__main__":
  cli.main(SCRIPT)
