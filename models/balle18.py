#!/usr/bin/env python3
"""Variational image compression with a scale hyperprior (Ballé 2018).

Paper: J. Ballé, D. Minnen, S. Singh, S. J. Hwang, N. Johnston, "Variational
Image Compression with a Scale Hyperprior", ICLR 2018,
https://arxiv.org/abs/1802.01436.

Shows: side information learned end to end. Where Ballé 2017's factorized
prior models the latents y of a GDN transform as independent (section 2), a
hyper-analysis transform summarizes the spatial structure of their
magnitudes |y| in hyper-latents z, which are coded first with a factorized
prior; from the decoded z, a hyper-synthesis transform predicts a scale for
every latent, and y is coded with a zero-mean Gaussian of that scale
convolved with unit uniform noise (section 3). The rate is the bits of both
y and z, traded against MSE; then real range coding of Kodak-size images.

The architecture follows TFC's `models/bmshj2018.py`, the educational
re-implementation by the paper's authors (figure 4 of the paper), with N
filters in hidden layers and M latent channels:
  analysis:        4 x (5x5 conv /2), GDN between them; the last has M filters
  synthesis:       4 x (5x5 conv x2), inverse GDN between; the last to RGB
  hyper-analysis:  |y|, 3x3 conv + ReLU, 5x5 conv /2 + ReLU, 5x5 conv /2
                   (no bias): z has N channels, 1/64 of the image's sides
  hyper-synthesis: 5x5 conv x2 + ReLU, 5x5 conv x2 + ReLU, 3x3 conv to M
                   channels (plain kernels, no RDFT, as in TFC)
  entropy models:  z: `NoisyDeepFactorized` (the paper's appendix 6.1
                   density convolved with the uniform noise); y: TFC's
                   `LocationScaleIndexedEntropyModel` with `NoisyNormal` and a
                   table of 64 scales, log-uniform from 0.11 to 256.

Deviations from the paper (all shared with TFC's script):
  * The hyper-synthesis outputs a (continuous) index into the scale table,
    scale = exp(log 0.11 + index * step), instead of the scale itself through
    a final ReLU; coding uses one of the table's 64 scales per latent.
  * Distortion is MSE on 0..255 RGB pixels and rate is bits per pixel, so
    lambda is in TFC's units (as for Ballé 2017 here, and as CompressAI's
    lambda), not the paper's.
  * Training data: the user's images (our checkpoints: BSDS500) rather than
    the paper's much larger set of web images, and far fewer steps; Adam
    with the `warmup_cosine` schedule by default (`--lr_schedule constant
    --learning_rate 1e-4` is TFC's). Each shipped checkpoint's manifest.json
    records the exact command, steps and wall time.

Deviations from TFC's script (training computes TFC's function):
  * Default size N = 128, M = 192, the paper's size for its lower rates
    (which cover the 0.1-1 bpp range of our checkpoints, and are cheaper on a
    CPU); TFC uses 192 for every layer (`--num_filters 192
    --num_latent_filters 192`), the paper N = 192, M = 320 for its higher
    rates.
  * Exact scale indexes. Range decoding needs, for every latent, exactly the
    scale index the encoder used; TFC and CompressAI compute it from the
    float hyper-synthesis, whose last bits can change with the thread count,
    the CPU or the library version, and an index near a rounding boundary
    then flips and the rest of the image decodes to garbage. Here the index
    is a function of integers only: the decoded hyper-latents are exact
    (integer symbols plus a stored offset, one float32 addition); the
    hyper-synthesis is evaluated as an integer network in fixed point
    (`tfcsuite.layers.IntegerTransform`: kernels in units of 2**-20,
    activations of 2**-14, every sum an integer below 2**53 computed in
    float64, hence exact in any summation order); and its output, a
    multiple of 2**-14, is rounded to the nearest table index (TFC
    truncates) by an exact operation. The encoder, moreover, derives the
    indexes from its own side-information string, through the decoder's
    code. The fixed-point network differs from the trained float one by
    about 1e-4 index units at most, so it selects the same scale except
    within that distance of a rounding tie, where the neighbouring scale
    (13% apart) costs a small fraction of a bit; training and `call` use
    the float network, as TFC does.
  * Range-coding tables of both entropy models are stored in the checkpoint,
    not rebuilt at load time (see `tfcsuite/entropy.py`), and the image size
    is in the container header rather than among the coded tensors.

In the decoder, only the synthesis transform still computes in float: on
another machine a pixel may round to the neighbouring level, but no latent
can decode differently.

Usage:
  python models/balle18.py train --train_glob 'images/*.png' --lambda 0.01
  python models/balle18.py compress kodim01.png kodim01.tfci -V
  python models/balle18.py decompress kodim01.tfci kodim01.png
"""

import dataclasses

import tensorflow as tf
import tensorflow_compression as tfc

from tfcsuite import cli, coding, config, entropy, layers, rate_distortion
from tfcsuite import weights as weights_lib, zoo


@dataclasses.dataclass
class Config(rate_distortion.RateDistortionConfig):
  num_filters: int = config.setting(
      128, "N: filters of the hidden layers and channels of the hyper-latents "
           "(paper: 128 at low rates, 192 at high rates; TFC: 192).")
  num_latent_filters: int = config.setting(
      192, "M: channels of the latents (paper: 192 at low rates, 320 at high "
           "rates; TFC: equal to --num_filters).")
  num_scales: int = config.setting(64, "Entries of the scale table.")
  scale_min: float = config.setting(.11, "Smallest scale of the table.")
  scale_max: float = config.setting(256., "Largest scale of the table.")


def analysis_transform(num_filters, num_latent_filters, weights=None):
  """Image (0..255) to latents y at 1/16 resolution (g_a, figure 4)."""
  prefix = "analysis"
  stages = [tf.keras.layers.Lambda(lambda x: x / 255.)]
  for i in range(3):
    stages.append(layers.signal_conv(prefix, f"layer_{i}", num_filters, (5, 5),
                                     weights, corr=True, strides_down=2))
    stages.append(layers.gdn(prefix, f"gdn_{i}", weights))
  stages.append(layers.signal_conv(prefix, "layer_3", num_latent_filters,
                                   (5, 5), weights, corr=True, strides_down=2))
  return layers.Transform(stages, name=prefix)


def synthesis_transform(num_filters, weights=None):
  """Quantized latents to the reconstructed image, 0..255 (g_s, figure 4)."""
  prefix = "synthesis"
  stages = []
  for i in range(3):
    stages.append(layers.signal_conv(prefix, f"layer_{i}", num_filters, (5, 5),
                                     weights, corr=False, strides_up=2))
    stages.append(layers.gdn(prefix, f"igdn_{i}", weights, inverse=True))
  stages.append(layers.signal_conv(prefix, "layer_3", 3, (5, 5), weights,
                                   corr=False, strides_up=2))
  stages.append(tf.keras.layers.Lambda(lambda x: x * 255.))
  return layers.Transform(stages, name=prefix)


def hyper_analysis_transform(num_filters, weights=None):
  """Latents y to hyper-latents z, from their magnitudes |y| (h_a)."""
  prefix = "hyper_analysis"
  return layers.Transform([
      tf.keras.layers.Lambda(tf.abs),
      layers.signal_conv(prefix, "layer_0", num_filters, (3, 3), weights,
                         corr=True, activation="relu"),
      layers.signal_conv(prefix, "layer_1", num_filters, (5, 5), weights,
                         corr=True, strides_down=2, activation="relu"),
      layers.signal_conv(prefix, "layer_2", num_filters, (5, 5), weights,
                         corr=True, strides_down=2, use_bias=False),
  ], name=prefix)


def hyper_synthesis_transform(num_filters, num_latent_filters, weights=None):
  """Hyper-latents to a scale-table index for every latent (h_s).

  The output is continuous; `Balle2018.scale_indexes` turns it into the
  integer indexes used for coding, exactly.
  """
  prefix = "hyper_synthesis"
  return layers.Transform([
      layers.signal_conv(prefix, "layer_0", num_filters, (5, 5), weights,
                         corr=False, strides_up=2, activation="relu",
                         kernel_parameter="variable"),
      layers.signal_conv(prefix, "layer_1", num_filters, (5, 5), weights,
                         corr=False, strides_up=2, activation="relu",
                         kernel_parameter="variable"),
      layers.signal_conv(prefix, "layer_2", num_latent_filters, (3, 3),
                         weights, corr=False, kernel_parameter="variable"),
  ], name=prefix)


def crop_to(tensor, spatial_shape):
  """`tensor` (batch, height, width, channels) cropped to (height, width).

  The hyper-synthesis upsamples z by 4, which exceeds y's size unless y's
  sides are multiples of 4.
  """
  return tensor[:, :spatial_shape[0], :spatial_shape[1], :]


class Balle2018(rate_distortion.RateDistortionModel, coding.CodingModel):
  """Transforms, hyperprior and scale table; trainable, or for coding."""

  layout = coding.Layout(strings=("latent", "side"),
                         integers=(("latent_shape", 2), ("side_shape", 2)),
                         strides=(("latent_shape", 16), ("side_shape", 64)))

  def __init__(self, config, weights=None):
    super().__init__()
    self.lmbda = config.lmbda
    num_filters = config.num_filters
    num_latent_filters = config.num_latent_filters
    self.scale_table = entropy.ScaleTable(config.num_scales, config.scale_min,
                                          config.scale_max)
    self.analysis_transform = analysis_transform(
        num_filters, num_latent_filters, weights)
    self.synthesis_transform = synthesis_transform(num_filters, weights)
    self.hyper_analysis_transform = hyper_analysis_transform(
        num_filters, weights)
    self.hyper_synthesis_transform = hyper_synthesis_transform(
        num_filters, num_latent_filters, weights)
    self.hyperprior = tfc.NoisyDeepFactorized(batch_shape=(num_filters,))
    if weights is None:
      self.build((None, None, None, 3))  # Creates the trainable variables.
    else:
      entropy.restore_prior(self.hyperprior, weights, "hyper")
      self.hyper_entropy_model = entropy.coding_entropy_model(
          weights, "hyper", coding_rank=3)
      self.latent_entropy_model = self.scale_table.coding_entropy_model(
          weights, "latent")
      self.integer_hyper_synthesis = layers.IntegerTransform(
          self.hyper_synthesis_transform)

  def hyper_bottleneck(self):
    """The hyper-latents' entropy model for training and rate estimates."""
    return tfc.ContinuousBatchedEntropyModel(
        self.hyperprior, coding_rank=3, compression=False)

  def call(self, x, training):
    """Rate and distortion of a batch; noise or quantization per `training`."""
    y = self.analysis_transform(x)
    z = self.hyper_analysis_transform(y)
    z_tilde, side_bits = self.hyper_bottleneck()(z, training=training)
    scale_index = crop_to(self.hyper_synthesis_transform(z_tilde),
                          tf.shape(y)[1:3])
    y_tilde, bits = self.scale_table.entropy_model()(
        y, scale_index, training=training)
    x_hat = self.synthesis_transform(y_tilde)
    # Rate: bits of latents and hyper-latents over pixels (section 3's loss).
    return self.rate_distortion(x, x_hat, bits, side_bits)

  def export_weights(self):
    """Materialized transform weights, hyperprior and both coding tables."""
    return dict(weights_lib.export(self, priors={"hyper": self.hyperprior}),
                **entropy.factorized_coding_tables(self.hyperprior, "hyper"),
                **self.scale_table.coding_weights("latent"))

  def initialize_from(self, weights):
    weights_lib.restore(self, weights, priors={"hyper": self.hyperprior})

  def scale_indexes(self, z_hat, y_shape):
    """Integer scale-table index of every latent, exactly, from z_hat.

    `z_hat` must be the decoded hyper-latents (bit-identical in encoder and
    decoder); `y_shape` is the latents' (height, width).
    """
    return crop_to(self.integer_hyper_synthesis(
        z_hat, finish=self.scale_table.nearest_indexes), y_shape)

  def decode_scale_indexes(self, side_string, y_shape, z_shape):
    """The scale indexes encoded by a side-information string."""
    z_hat = self.hyper_entropy_model.decompress(side_string, z_shape)
    return self.scale_indexes(z_hat, y_shape)

  def compress(self, image):
    y = self.analysis_transform(tf.cast(image, tf.float32)[None])
    z = self.hyper_analysis_transform(y)
    y_shape, z_shape = tf.shape(y)[1:-1], tf.shape(z)[1:-1]
    side_string = self.hyper_entropy_model.compress(z)
    # Derived from the side string, by the decoder's own computation.
    indexes = self.decode_scale_indexes(side_string, y_shape, z_shape)
    return dict(latent=self.latent_entropy_model.compress(y, indexes),
                side=side_string, latent_shape=y_shape, side_shape=z_shape)

  def decompress(self, fields, shape):
    indexes = self.decode_scale_indexes(
        [fields["side"]], fields["latent_shape"], fields["side_shape"])
    y_hat = self.latent_entropy_model.decompress([fields["latent"]], indexes)
    return coding.reconstructed_image(self.synthesis_transform(y_hat), shape)

  def estimate_bits(self, image):
    """Information content of z and y under the model (bits).

    y is measured with the scales the coder uses (exact indexes).
    """
    y = self.analysis_transform(tf.cast(image, tf.float32)[None])
    z = self.hyper_analysis_transform(y)
    _, side_bits = self.hyper_bottleneck()(z, training=False)
    indexes = self.scale_indexes(self.hyper_entropy_model.quantize(z),
                                 tf.shape(y)[1:3])
    _, bits = self.scale_table.entropy_model()(
        y, tf.cast(indexes, tf.float32), training=False)
    return float(tf.reduce_sum(bits) + tf.reduce_sum(side_bits))


SCRIPT = zoo.ModelScript(
    name="balle18", description=__doc__.splitlines()[0], model=Balle2018,
    config=Config, default_checkpoint="lambda0.01",
    published_curve="balle-2018-iclr-opt-mse",
    training_features=("rdft_kernels",),
    full_training=rate_distortion.TFC_TRAINING_BUDGET)

if __name__ == "__main__":
  cli.main(SCRIPT)
