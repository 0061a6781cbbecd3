"""The training loop shared by every model script.

Each script supplies a `tfcsuite.trainable.TrainableModel` that owns its
training step and metrics; everything else (data, learning-rate schedule,
Keras `fit` with progress bar, TensorBoard logs, resumable backups, NaN guard,
checkpoint export with provenance) is here, once.
"""

import json
import math
import os
import platform
import shlex
import sys
import time

import tensorflow as tf

from tfcsuite import UserError, checkpoint, layers
from tfcsuite import config as config_lib
from tfcsuite.datasets import training_images


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


def add_training_flags(parser):
  """Flags of `train` common to every model (TFC-compatible names)."""
  parser.add_argument(
      "--train_glob", nargs="+", default=None,
      help="Glob pattern(s) or folder(s) of training images (PNG/JPEG). "
           "If unspecified, the TFDS dataset --tfds_dataset is used.")
  parser.add_argument(
      "--validation_glob", nargs="+", default=None,
      help="Glob pattern(s) of validation images (centre crops). Default: "
           "the training images.")
  parser.add_argument(
      "--tfds_dataset", default="clic",
      help="TFDS dataset used when --train_glob is not given.")
  parser.add_argument(
      "--train_path", default=None,
      help="Folder for TensorBoard logs and resumable training backups "
           "(default: runs/<model>_lambda<lambda>, or runs/<model>).")
  parser.add_argument("--batchsize", type=int, default=8)
  parser.add_argument("--patchsize", type=int, default=256)
  parser.add_argument(
      "--epochs", type=int, default=15,
      help="Train up to this many epochs of --steps_per_epoch steps. "
           "Running again with a larger value continues the same run. The "
           "defaults (1,500 steps) take 11.7 minutes on 2 CPU cores and reach "
           "a Kodak RD loss of 2.34 at lambda 0.01 (README); TFC's are "
           "1000 x 1000 steps.")
  parser.add_argument("--steps_per_epoch", type=int, default=100)
  parser.add_argument(
      "--max_validation_steps", type=int, default=8,
      help="Validation batches per epoch (-1: all validation images).")
  parser.add_argument(
      "--learning_rate", type=float, default=1e-3,
      help="Peak learning rate of Adam. 1e-3 reached a lower Kodak RD loss "
           "than 5e-4 after 1,600 steps (README: time to quality).")
  parser.add_argument(
      "--lr_schedule", choices=("warmup_cosine", "constant"),
      default="warmup_cosine",
      help="'constant' is the schedule of the paper and of TFC (with "
           "--learning_rate 1e-4); 'warmup_cosine' warms up linearly for "
           "--warmup_steps, then decays to 1%% over the whole run.")
  parser.add_argument("--warmup_steps", type=int, default=100)
  parser.add_argument(
      "--init_from", default=None,
      help="Checkpoint folder to start from (e.g. to fine-tune to a new "
           "lambda).")
  parser.add_argument(
      "--rdft_kernels", choices=layers.RDFT_IMPLEMENTATIONS, default="basis",
      help="How RDFT-parameterized kernels are computed: 'basis' (one matrix "
           "product; same function, ~1.5x faster steps on CPU, see "
           "benchmarks/speed.py) or 'fft' (TFC's inverse FFTs).")
  parser.add_argument("--preprocess_threads", type=int, default=2)
  parser.add_argument("--seed", type=int, default=None)


class _EpochLog(tf.keras.callbacks.Callback):
  """Appends one JSON line per epoch: wall time and metrics (for provenance)."""

  def __init__(self, path, steps_per_epoch):
    super().__init__()
    self.path = path
    self.steps_per_epoch = steps_per_epoch

  def on_epoch_begin(self, epoch, logs=None):
    self._start = time.time()

  def on_epoch_end(self, epoch, logs=None):
    record = dict(epoch=epoch + 1, steps=self.steps_per_epoch,
                  seconds=round(time.time() - self._start, 2),
                  **{k: float(v) for k, v in (logs or {}).items()})
    with open(self.path, "a") as f:
      f.write(json.dumps(record) + "\n")


def _read_epoch_log(path):
  if not os.path.exists(path):
    return []
  with open(path) as f:
    records = [json.loads(line) for line in f if line.strip()]
  # A resumed run repeats epochs that were not backed up; keep the last.
  by_epoch = {r["epoch"]: r for r in records}
  return [by_epoch[k] for k in sorted(by_epoch)]


def train(script, args):
  """Trains `script`'s model as the flags say and exports a checkpoint."""
  config = config_lib.from_flags(script.config, args)
  train_path = args.train_path or os.path.join("runs",
                                               config.run_name(script.name))
  model_path = args.model_path or os.path.join(train_path, "checkpoint")
  os.makedirs(train_path, exist_ok=True)
  if args.seed is not None:
    tf.keras.utils.set_random_seed(args.seed)
  layers.set_rdft_implementation(args.rdft_kernels)

  model = script.training_model(config)
  if args.init_from:
    start = checkpoint.load(args.init_from, script.name)
    model.initialize_from(start.weights)

  if args.train_glob:
    train_files = training_images.expand_globs(args.train_glob)
    validation_files = (training_images.expand_globs(args.validation_glob)
                        if args.validation_glob else train_files)
    train_data = training_images.training_patches(
        train_files, args.batchsize, args.patchsize, args.preprocess_threads,
        seed=args.seed)
    validation_data = training_images.validation_patches(
        validation_files, args.batchsize, args.patchsize,
        args.preprocess_threads, args.max_validation_steps)
    data_description = dict(train=args.train_glob,
                            train_images=len(train_files),
                            validation=args.validation_glob)
  else:
    train_data = training_images.tfds_patches(
        args.tfds_dataset, "train", args.batchsize, args.patchsize)
    validation_data = training_images.tfds_patches(
        args.tfds_dataset, "validation", args.batchsize, args.patchsize
    ).take(max(args.max_validation_steps, 1)).cache()
    data_description = dict(tfds=args.tfds_dataset)

  model.prepare_training(learning_rate_schedule(args))
  epoch_log = os.path.join(train_path, "epochs.jsonl")
  callbacks = [
      tf.keras.callbacks.TerminateOnNaN(),
      tf.keras.callbacks.TensorBoard(
          log_dir=os.path.join(train_path, "logs"), update_freq="epoch"),
      # Kept after training ends (unlike TFC's), so that running `train`
      # again with a larger --epochs continues, optimizer state included.
      tf.keras.callbacks.BackupAndRestore(
          os.path.join(train_path, "backup"), delete_checkpoint=False),
      _EpochLog(epoch_log, args.steps_per_epoch),
  ]
  model.fit(
      train_data, epochs=args.epochs, steps_per_epoch=args.steps_per_epoch,
      validation_data=validation_data, callbacks=callbacks,
      verbose=1 if args.verbose else 2)
  if model.stop_training:
    raise UserError("training diverged (loss became NaN); no checkpoint "
                    "was written")

  epochs = _read_epoch_log(epoch_log)
  provenance = dict(
      command=" ".join(shlex.quote(a) for a in sys.argv),
      data=data_description,
      steps=sum(r["steps"] for r in epochs),
      wall_seconds=round(sum(r["seconds"] for r in epochs), 1),
      final_epoch=epochs[-1] if epochs else None,
      init_from=args.init_from,
      hyperparameters=dict(
          batchsize=args.batchsize, patchsize=args.patchsize,
          learning_rate=args.learning_rate, lr_schedule=args.lr_schedule,
          warmup_steps=args.warmup_steps, epochs=args.epochs,
          rdft_kernels=args.rdft_kernels,
          steps_per_epoch=args.steps_per_epoch),
      platform=dict(machine=platform.machine(), cpus=os.cpu_count(),
                    tensorflow=tf.__version__),
      date=time.strftime("%Y-%m-%d", time.gmtime()),
  )
  checkpoint.save(model_path, script.name, config.to_dict(),
                  model.export_weights(), provenance)
  print(f"Wrote checkpoint {model_path} ({provenance['steps']} steps, "
        f"{provenance['wall_seconds']:.0f} s).")
