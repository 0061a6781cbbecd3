"""The training contract: what a model gives the shared trainer.

A trainable model derives from `TrainableModel` (a Keras model) and defines

  * `metric_names`: the scalars its steps report, e.g. ("loss", "bpp",
    "mse"); Keras averages them over each epoch and logs them;
  * `training_step(batch)`: one update, applying its gradients with
    `self.minimize` or `self.apply_gradients` (which average them over
    tf.distribute's replicas), with `self.optimizer` or any further
    optimizer it creates in `create_optimizers`, returning {name: scalar}
    for every metric name;
  * `evaluation_step(batch)`: the same metrics without an update;
    a model with a single loss instead defines only
    `loss_terms(batch, training)`, and the default steps minimize its
    "loss";
  * `export_weights()` / `initialize_from(weights)`: the checkpoint's
    arrays (by default every variable through `tfcsuite.weights`);
  * optionally `create_optimizers(learning_rate)`: the optimizers, built from
    the shared learning-rate schedule (default: one Adam), each Adam made
    with `self.adam` so that the shared optimizer flags apply to it.

Rate-distortion models in TFC's style get all of this from the opt-in helper
`tfcsuite.rate_distortion.RateDistortionModel`.
"""

import tensorflow as tf

from tfcsuite import distribution, optimization, weights as weights_lib


class ScaledLearningRate(tf.keras.optimizers.schedules.LearningRateSchedule):
  """`scale` times a schedule (or a constant), e.g. for a second network."""

  def __init__(self, learning_rate, scale):
    self.learning_rate = learning_rate
    self.scale = float(scale)

  def __call__(self, step):
    rate = self.learning_rate
    if callable(rate):
      rate = rate(step)
    return self.scale * tf.convert_to_tensor(rate, tf.float32)

  def get_config(self):
    return dict(scale=self.scale)


class TrainableModel(tf.keras.Model):
  """Base of every trainable model (see the module docstring)."""

  metric_names = ("loss",)

  def training_step(self, batch):
    """By default, one step down the "loss" of `loss_terms`."""
    with tf.GradientTape() as tape:
      values = self.loss_terms(batch, training=True)
    self.minimize(values["loss"], tape)
    return values

  def evaluation_step(self, batch):
    return self.loss_terms(batch, training=False)

  def loss_terms(self, batch, training):
    """{metric name: scalar}, "loss" among them: for models with one loss,
    which then need no `training_step` or `evaluation_step` of their own."""
    raise NotImplementedError

  def create_optimizers(self, learning_rate):
    """{attribute name: optimizer}; "optimizer" is the main one."""
    return dict(optimizer=self.adam(learning_rate))

  optimizer_options = optimization.OptimizerOptions()  # Keras' defaults.

  def adam(self, learning_rate, **arguments):
    """An Adam with the model's `arguments` and the shared optimizer flags
    (`train --ema_momentum`, `--adam_epsilon`, ...), which override them."""
    return self.optimizer_options.adam(learning_rate, **arguments)

  def reconstruction(self, batch):
    """Optional: the model's reconstruction of `batch`, shown in TensorBoard
    (None: the model has none)."""
    del batch
    return None

  def export_weights(self):
    return weights_lib.export(self)

  def initialize_from(self, weights):
    weights_lib.restore(self, weights)

  def minimize(self, loss, tape, variables=None, optimizer=None):
    """Applies the gradient of `loss` (recorded on `tape`) to `variables`
    (default: all trainable ones) with `optimizer` (default: the main one)."""
    variables = self.trainable_variables if variables is None else variables
    self.apply_gradients(tape.gradient(loss, variables), variables, optimizer)

  def apply_gradients(self, gradients, variables, optimizer=None):
    """Applies `gradients` of this replica's loss to `variables` with
    `optimizer` (default: the main one), averaged over tf.distribute's
    replicas, so that a step is the same on any number of devices."""
    gradients = distribution.mean_over_replicas(gradients)
    (optimizer or self.optimizer).apply_gradients(zip(gradients, variables))

  def prepare_training(self, learning_rate, optimizer_options=None):
    """Creates the optimizers and the metrics; called by the trainer.

    `optimizer_options`: an `optimization.OptimizerOptions` (default: Keras'
    defaults)."""
    if optimizer_options is not None:
      self.optimizer_options = optimizer_options
    optimizers = self.create_optimizers(learning_rate)
    optimization.check_averaging(self, optimizers)
    main = optimizers.pop("optimizer")
    for name, optimizer in optimizers.items():
      setattr(self, name, optimizer)  # Tracked: backed up and restored.
    super().compile(optimizer=main)
    # The attribute name is the one training backups store the metrics
    # under (tf.train.Checkpoint matches objects by attribute names).
    self._rd_metrics = [tf.keras.metrics.Mean(name=name)
                        for name in self.metric_names]

  # Keras' hooks, in terms of the methods above.

  def _track(self, values):
    for metric in self._rd_metrics:
      metric.update_state(values[metric.name])
    return {m.name: m.result() for m in self._rd_metrics}

  def train_step(self, batch):
    return self._track(self.training_step(batch))

  def test_step(self, batch):
    return self._track(self.evaluation_step(batch))

  def predict_step(self, batch):
    raise NotImplementedError("Use compress/decompress instead of predict.")

  @property
  def metrics(self):
    return list(getattr(self, "_rd_metrics", []))
