"""How `train` optimizes: the learning-rate schedule and Adam's options.

The flags here are shared by every trainable model. Their defaults are Keras'
own (Adam's epsilon 1e-7 and beta_2 0.999, no averaging, no clipping), so a run
that does not give them trains exactly as before they existed.
"""

import argparse
import dataclasses
import math

import tensorflow as tf

from tfcsuite import UserError


class WarmupCosineDecay(tf.keras.optimizers.schedules.LearningRateSchedule):
  """Linear warm-up to `peak`, then cosine decay to `peak * final_fraction`."""

  def __init__(self, peak, total_steps, warmup_steps, final_fraction=0.01):
    self.peak = float(peak)
    self.total_steps = max(int(total_steps), 1)
    self.warmup_steps = max(int(warmup_steps), 0)
    self.final_fraction = float(final_fraction)

  def __call__(self, step):
    step = tf.cast(step, tf.float32)
    warmup = self.peak * (step + 1.) / max(self.warmup_steps, 1)
    progress = (step - self.warmup_steps) / max(
        self.total_steps - self.warmup_steps, 1)
    progress = tf.clip_by_value(progress, 0., 1.)
    cosine = self.final_fraction + (1. - self.final_fraction) * 0.5 * (
        1. + tf.cos(math.pi * progress))
    return tf.where(step < self.warmup_steps, warmup, self.peak * cosine)

  def get_config(self):
    return dict(peak=self.peak, total_steps=self.total_steps,
                warmup_steps=self.warmup_steps,
                final_fraction=self.final_fraction)


def learning_rate_schedule(args):
  if args.lr_schedule == "constant":
    return args.learning_rate
  total = args.epochs * args.steps_per_epoch
  return WarmupCosineDecay(args.learning_rate, total, args.warmup_steps)


@dataclasses.dataclass(frozen=True)
class OptimizerOptions:
  """Options of every Adam a model creates (None: Keras' default).

  Frozen and not a dict, so that Keras does not track it as part of the
  model's training state (backups keep their object graph).
  """

  ema_momentum: float = 0.  # 0: no moving average of the weights.
  epsilon: float = None
  beta_2: float = None
  global_clipnorm: float = None  # None or 0: no clipping.

  def adam(self, learning_rate, **model_arguments):
    """An Adam with the model's own arguments, overridden by these options.
    """
    arguments = dict(model_arguments)
    for name in ("epsilon", "beta_2"):
      if getattr(self, name) is not None:
        arguments[name] = getattr(self, name)
    if self.global_clipnorm:
      arguments["global_clipnorm"] = self.global_clipnorm
    if self.ema_momentum:
      arguments.update(use_ema=True, ema_momentum=self.ema_momentum)
    return tf.keras.optimizers.Adam(learning_rate=learning_rate, **arguments)


def _number(low, high, what):
  """An argparse type: a float in [low, high) (high None: no bound)."""
  def parse(text):
    try:
      value = float(text)
    except ValueError:
      value = math.nan
    if not (value >= low and (high is None or value < high)):
      raise argparse.ArgumentTypeError(f"{text!r} is not {what}")
    return value
  return parse


def add_flags(parser):
  """The optimization flags of `train`."""
  parser.add_argument(
      "--learning_rate", type=float, default=1e-3,
      help="Peak learning rate of Adam (README: time to quality).")
  parser.add_argument(
      "--lr_schedule", choices=("warmup_cosine", "constant"),
      default="warmup_cosine",
      help="'constant' is the schedule of the paper and of TFC (with "
           "--learning_rate 1e-4); 'warmup_cosine' warms up linearly for "
           "--warmup_steps, then decays to 1%% over the whole run.")
  parser.add_argument(
      "--warmup_steps", type=int, default=100,
      help="Steps of linear learning-rate warm-up (warmup_cosine).")
  parser.add_argument(
      "--ema_momentum", type=_number(0., 1., "in [0, 1)"), default=0.,
      help="If > 0, Adam keeps an exponential moving average of the weights "
           "with this momentum (e.g. 0.999), and the exported checkpoint "
           "holds the averaged weights (backups hold both). Models with "
           "several optimizers do not support it.")
  parser.add_argument(
      "--adam_epsilon", type=_number(1e-30, None, "a positive number"),
      default=None, help="Adam's epsilon (default: Keras', 1e-7).")
  parser.add_argument(
      "--adam_beta2", type=_number(0., 1., "in [0, 1)"), default=None,
      help="Adam's beta_2 (default: the model's, else Keras' 0.999).")
  parser.add_argument(
      "--global_clipnorm", type=_number(0., None, "a number >= 0"),
      default=None,
      help="Clip the gradients to this global norm before each step "
           "(default, or 0: no clipping).")


def options(args):
  """The `OptimizerOptions` the parsed flags give."""
  return OptimizerOptions(
      ema_momentum=args.ema_momentum, epsilon=args.adam_epsilon,
      beta_2=args.adam_beta2, global_clipnorm=args.global_clipnorm)


def check_averaging(model, optimizers):
  """Refuses weight averaging for a model with more than one optimizer: Keras
  overwrites all trainable weights with the main optimizer's averages."""
  uses_ema = [name for name, optimizer in optimizers.items()
              if getattr(optimizer, "use_ema", False)]
  if uses_ema and len(optimizers) > 1:
    raise UserError(f"--ema_momentum needs a model with one optimizer; "
                    f"{type(model).__name__} has {len(optimizers)}")


def export_averages(model):
  """Overwrites the model's trainable weights with the main optimizer's
  moving averages, if it keeps them (as Keras' `fit` does when it ends)."""
  model.optimizer.finalize_variable_values(model.trainable_variables)
