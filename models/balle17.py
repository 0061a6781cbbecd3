#!/usr/bin/env python3
"""End-to-end optimized image compression (Ballé 2017): GDN + factorized prior.

Paper: J. Ballé, V. Laparra, E. P. Simoncelli, "End-to-end Optimized Image
Compression", ICLR 2017, https://arxiv.org/abs/1611.01704.

Shows: a three-stage convolutional analysis transform with generalized divisive
normalization (GDN), uniform scalar quantization replaced by additive uniform
noise during training, a factorized (per-channel) learned density for the
latents, and a mirrored synthesis transform with inverse GDN, optimized for
rate + lambda * distortion; then real range coding of Kodak-size images.

The architecture follows TFC's `models/bls2017.py`, the educational
re-implementation by the paper's first author:
  analysis:  9x9 conv /4 + GDN, 5x5 conv /2 + GDN, 5x5 conv /2 (no bias)
  synthesis: 5x5 conv x2 + IGDN, 5x5 conv x2 + IGDN, 9x9 conv x4 to RGB

Deviations from the paper (all shared with TFC's script):
  * 128 filters per layer by default; the paper used 128 for grayscale and
    192 for RGB images (`--num_filters 192`).
  * The latent density is TFC's `NoisyDeepFactorized` (a small monotonic
    network convolved with the uniform noise, Ballé et al. 2018, appendix 6.1)
    instead of the paper's piecewise-linear density.
  * Distortion is MSE on 0..255 RGB pixels and rate is bits per pixel, so
    lambda is in TFC's units (lambda = 0.01 gives about 0.5 bpp when trained
    long enough), not the paper's.
  * Training data: the user's images (we ship checkpoints trained on BSDS500)
    rather than the paper's 6507 ImageNet images; Adam instead of the paper's
    plain stochastic gradient schedule.
  * Default training schedule: `warmup_cosine` (linear warm-up, peak 1e-3,
    cosine decay over the run), chosen for training on CPU; `--lr_schedule
    constant --learning_rate 1e-4` is TFC's schedule. The shipped checkpoints
    were trained with peak 5e-4 (lambda0.01) and fine-tuned with 2e-4; each
    one's manifest.json records the exact command, steps and wall time.

Usage:
  python models/balle17.py train --train_glob 'images/*.png'
  python models/balle17.py compress kodim01.png kodim01.tfci -V
  python models/balle17.py decompress kodim01.tfci kodim01.png
"""

import tensorflow as tf
import tensorflow_compression as tfc

from tfcsuite import cli, coding, entropy, layers, training


def analysis_transform(num_filters, weights=None):
  """Image (0..255) to latents y, at 1/16 resolution (paper, section 2)."""
  prefix = "analysis"
  return layers.Transform([
      tf.keras.layers.Lambda(lambda x: x / 255.),
      layers.signal_conv(prefix, "layer_0", num_filters, (9, 9), weights,
                         corr=True, strides_down=4),
      layers.gdn(prefix, "gdn_0", weights),
      layers.signal_conv(prefix, "layer_1", num_filters, (5, 5), weights,
                         corr=True, strides_down=2),
      layers.gdn(prefix, "gdn_1", weights),
      layers.signal_conv(prefix, "layer_2", num_filters, (5, 5), weights,
                         corr=True, strides_down=2, use_bias=False),
  ], name=prefix)


def synthesis_transform(num_filters, weights=None):
  """Quantized latents to the reconstructed image (0..255)."""
  prefix = "synthesis"
  return layers.Transform([
      layers.signal_conv(prefix, "layer_0", num_filters, (5, 5), weights,
                         corr=False, strides_up=2),
      layers.gdn(prefix, "igdn_0", weights, inverse=True),
      layers.signal_conv(prefix, "layer_1", num_filters, (5, 5), weights,
                         corr=False, strides_up=2),
      layers.gdn(prefix, "igdn_1", weights, inverse=True),
      layers.signal_conv(prefix, "layer_2", 3, (9, 9), weights,
                         corr=False, strides_up=4),
      tf.keras.layers.Lambda(lambda x: x * 255.),
  ], name=prefix)


class Balle2017(training.RateDistortionModel):
  """Transforms and factorized prior; trainable, or for coding with `weights`."""

  def __init__(self, lmbda, num_filters, weights=None):
    super().__init__()
    self.lmbda = lmbda
    self.num_filters = num_filters
    self.analysis_transform = analysis_transform(num_filters, weights)
    self.synthesis_transform = synthesis_transform(num_filters, weights)
    self.prior = tfc.NoisyDeepFactorized(batch_shape=(num_filters,))
    if weights is None:
      self.build((None, None, None, 3))  # Creates the trainable variables.
    else:
      entropy.restore_prior(self.prior, weights, "latent")
      self.entropy_model = entropy.coding_entropy_model(
          weights, "latent", coding_rank=3)

  def call(self, x, training):
    """Rate and distortion of a batch; noise or quantization per `training`."""
    entropy_model = tfc.ContinuousBatchedEntropyModel(
        self.prior, coding_rank=3, compression=False)
    y = self.analysis_transform(x)
    y_hat, bits = entropy_model(y, training=training)
    x_hat = self.synthesis_transform(y_hat)
    # Rate: total bits over total pixels (eq. 2's first term, in bpp).
    return self.rate_distortion(x, x_hat, bits)

  def export_weights(self):
    """Materialized transform weights plus prior and coding tables."""
    weights = layers.materialized_weights(self.analysis_transform)
    weights.update(layers.materialized_weights(self.synthesis_transform))
    weights.update(entropy.factorized_prior_weights(self.prior, "latent"))
    return weights

  def initialize_from(self, weights):
    layers.initialize_from(self.analysis_transform, weights)
    layers.initialize_from(self.synthesis_transform, weights)
    entropy.restore_prior(self.prior, weights, "latent")

  @tf.function(input_signature=[
      tf.TensorSpec(shape=(None, None, 3), dtype=tf.uint8)])
  def compress(self, x):
    """Image to (range-coded string, latent shape)."""
    y = self.analysis_transform(tf.cast(x, tf.float32)[None])
    return self.entropy_model.compress(y), tf.shape(y)[1:-1]

  @tf.function(input_signature=[
      tf.TensorSpec(shape=(2,), dtype=tf.int32),
      tf.TensorSpec(shape=(1,), dtype=tf.string),
      tf.TensorSpec(shape=(2,), dtype=tf.int32)])
  def decompress(self, x_shape, string, y_shape):
    """Inverse of `compress`, cropping the reconstruction to `x_shape`."""
    y_hat = self.entropy_model.decompress(string, y_shape)
    return coding.reconstructed_image(self.synthesis_transform(y_hat), x_shape)

  def estimate_bits(self, x):
    """Information content of the quantized latents under the prior (bits)."""
    entropy_model = tfc.ContinuousBatchedEntropyModel(
        self.prior, coding_rank=3, compression=False)
    y = self.analysis_transform(tf.cast(x, tf.float32)[None])
    _, bits = entropy_model(y, training=False)
    return tf.reduce_sum(bits)


def add_model_flags(parser):
  parser.add_argument("--num_filters", type=int, default=128,
                      help="Filters per layer (the paper used 192 for RGB).")


SCRIPT = cli.ModelScript(
    name="balle17",
    description=__doc__.splitlines()[0],
    default_checkpoint="lambda0.01",
    add_model_flags=add_model_flags,
    config_from_flags=lambda args: dict(lmbda=args.lmbda,
                                        num_filters=args.num_filters),
    training_model=lambda config: Balle2017(**config),
    coding_model=lambda ckpt: Balle2017(weights=ckpt.weights, **ckpt.config),
    published_curve="balle-2017-iclr-opt-mse",
)

if __name__ == "__main__":
  cli.main(SCRIPT)
