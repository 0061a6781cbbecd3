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

import dataclasses

import tensorflow as tf
import tensorflow_compression as tfc

from tfcsuite import cli, coding, config, entropy, layers, rate_distortion
from tfcsuite import weights as weights_lib, zoo


@dataclasses.dataclass
class Config(rate_distortion.RateDistortionConfig):
  num_filters: int = config.setting(
      128, "Filters per layer (the paper used 192 for RGB).")


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


class Balle2017(rate_distortion.RateDistortionModel, coding.CodingModel):
  """Transforms and factorized prior; trainable, or for coding with `weights`."""

  layout = coding.Layout(strings=("latent",), integers=(("latent_shape", 2),),
                         strides=(("latent_shape", 16),))

  def __init__(self, config, weights=None):
    super().__init__()
    self.lmbda = config.lmbda
    self.analysis_transform = analysis_transform(config.num_filters, weights)
    self.synthesis_transform = synthesis_transform(config.num_filters, weights)
    self.prior = tfc.NoisyDeepFactorized(batch_shape=(config.num_filters,))
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
    return dict(weights_lib.export(self, priors={"latent": self.prior}),
                **entropy.factorized_coding_tables(self.prior, "latent"))

  def initialize_from(self, weights):
    weights_lib.restore(self, weights, priors={"latent": self.prior})

  def compress(self, image):
    y = self.analysis_transform(tf.cast(image, tf.float32)[None])
    return dict(latent=self.entropy_model.compress(y),
                latent_shape=tf.shape(y)[1:-1])

  def decompress(self, fields, shape):
    y_hat = self.entropy_model.decompress([fields["latent"]],
                                          fields["latent_shape"])
    return coding.reconstructed_image(self.synthesis_transform(y_hat), shape)

  def estimate_bits(self, image):
    """Information content of the quantized latents under the prior (bits)."""
    entropy_model = tfc.ContinuousBatchedEntropyModel(
        self.prior, coding_rank=3, compression=False)
    y = self.analysis_transform(tf.cast(image, tf.float32)[None])
    _, bits = entropy_model(y, training=False)
    return float(tf.reduce_sum(bits))


SCRIPT = zoo.ModelScript(
    name="balle17", description=__doc__.splitlines()[0], model=Balle2017,
    config=Config, default_checkpoint="lambda0.01",
    published_curve="balle-2017-iclr-opt-mse",
    training_features=("rdft_kernels",),
    full_training=rate_distortion.TFC_TRAINING_BUDGET)

if __name__ == "__main__":
  cli.main(SCRIPT)
