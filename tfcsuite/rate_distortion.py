"""Opt-in helper for rate-distortion models in TFC's style (Ballé et al.).

Such a model's `call(x, training)` returns `(loss, bpp, mse)`, usually via
`rate_distortion`, with `loss = bpp + lmbda * mse`, MSE on 0..255 pixels and
the rate in bits per pixel (TFC's units); noise replaces quantization when
`training` is true. Its configuration derives from `RateDistortionConfig`,
which adds TFC's `--lambda` flag.
"""

import dataclasses

import tensorflow as tf

from tfcsuite import config, trainable


# The training budget of TFC's reference scripts of Ballé et al. 2017 and
# 2018 (models/bls2017.py, bmshj2018.py): 1000 epochs of 1000 steps of 8
# patches of 256², Adam at a constant 1e-4 (`tfcs retrain --full`).
TFC_TRAINING_BUDGET = dict(epochs=1000, steps_per_epoch=1000, batchsize=8,
                           patchsize=256, lr_schedule="constant",
                           learning_rate=1e-4)


@dataclasses.dataclass
class RateDistortionConfig(config.ModelConfig):
  lmbda: float = config.setting(
      0.01, "Rate-distortion trade-off: loss = bpp + lambda * MSE (0..255).",
      flag="--lambda")

  def run_name(self, model):
    return f"{model}_lambda{self.lmbda:g}"


class RateDistortionModel(trainable.TrainableModel):
  """A trainable model whose `call` gives `(loss, bpp, mse)`."""

  metric_names = ("loss", "bpp", "mse")

  def rate_distortion(self, x, x_hat, *bits):
    """`(loss, bpp, mse)` of a batch `x` and its reconstruction `x_hat`.

    `bits` are tensors of bits (e.g. of the latents and of side information);
    bpp is their total over the batch's total pixels.
    """
    num_pixels = tf.cast(tf.reduce_prod(tf.shape(x)[:-1]), tf.float32)
    bpp = tf.add_n([tf.reduce_sum(b) for b in bits]) / num_pixels
    mse = tf.reduce_mean(tf.math.squared_difference(x, x_hat))
    if self._keep_reconstruction is not None:
      self._keep_reconstruction(x_hat)
    return bpp + self.lmbda * mse, bpp, mse

  _keep_reconstruction = None

  def reconstruction(self, batch):
    """The batch decoded from quantized latents (run eagerly: TensorBoard)."""
    kept = []
    self._keep_reconstruction = kept.append
    try:
      self(batch, training=False)
    finally:
      self._keep_reconstruction = None
    return kept[0]

  def training_step(self, batch):
    with tf.GradientTape() as tape:
      values = dict(zip(self.metric_names, self(batch, training=True)))
    self.minimize(values["loss"], tape)
    return values

  def evaluation_step(self, batch):
    return dict(zip(self.metric_names, self(batch, training=False)))
