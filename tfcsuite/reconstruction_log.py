"""TensorBoard: reconstructions and rate-distortion scalars after each epoch.

Keras' TensorBoard callback already logs every metric per epoch (loss, bpp,
mse, ... and their `val_` versions, under logs/train and logs/validation).
This adds, for models that give a reconstruction
(`TrainableModel.reconstruction`, e.g. every `RateDistortionModel`), the
first validation images next to their reconstruction from quantized latents,
and that batch's PSNR, under logs/reconstructions.
"""

import math
import os

import tensorflow as tf

IMAGES = 3  # Shown per epoch.


class ReconstructionLog(tf.keras.callbacks.Callback):
  """Writes the reconstructions of a fixed validation batch at epoch ends."""

  def __init__(self, log_dir, validation_data):
    super().__init__()
    self.log_dir = os.path.join(log_dir, "reconstructions")
    self.validation_data = validation_data
    self._writer = None

  def on_epoch_end(self, epoch, logs=None):
    batch = next(iter(self.validation_data))[:IMAGES]
    x_hat = self.model.reconstruction(batch)
    if x_hat is None:
      return
    x_hat = tf.clip_by_value(tf.round(x_hat), 0., 255.)
    mse = float(tf.reduce_mean(tf.math.squared_difference(batch, x_hat)))
    if self._writer is None:
      self._writer = tf.summary.create_file_writer(self.log_dir)
    with self._writer.as_default(step=epoch):
      # Original left, reconstruction right.
      tf.summary.image("original | reconstruction",
                       tf.concat([batch, x_hat], axis=2) / 255.,
                       max_outputs=IMAGES)
      tf.summary.scalar("psnr", 10. * math.log10(255. ** 2 / max(mse, 1e-10)))
    self._writer.flush()
