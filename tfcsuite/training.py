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

from tfcsuite import UserError, checkpoint, count, distribution, layers
from tfcsuite import optimization, reconstruction_log, training_run
from tfcsuite import config as config_lib
from tfcsuite.datasets import training_images


# The `train` flags recorded in a checkpoint's provenance.
HYPERPARAMETERS = ("batchsize", "patchsize", "learning_rate", "lr_schedule",
                   "warmup_steps", "epochs", "steps_per_epoch",
                   "rdft_kernels", "ema_momentum", "adam_epsilon",
                   "adam_beta2", "global_clipnorm")


def add_training_flags(parser, script):
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
      help="Folder of the run: TensorBoard logs, resumable backups and the "
           "run's records (default: runs/<model>_lambda<lambda> for "
           "rate-distortion models, else runs/<model>).")
  parser.add_argument("--batchsize", type=int, default=8,
                      help="Patches per training step.")
  parser.add_argument(
      "--patchsize", type=int, default=256,
      help="Side of the square training patches, randomly cropped; smaller "
           "images are skipped.")
  parser.add_argument(
      "--epochs", type=int, default=15,
      help="Train up to this many epochs of --steps_per_epoch steps. "
           "Running again with a larger value continues the same run. "
           "README: time to quality of the defaults; TFC's are 1000 x 1000 "
           "steps.")
  parser.add_argument("--steps_per_epoch", type=int, default=100,
                      help="Training steps per epoch (and per backup).")
  parser.add_argument(
      "--max_validation_steps", type=int, default=8,
      help="Validation batches per epoch (-1: all validation images).")
  optimization.add_flags(parser)
  parser.add_argument(
      "--init_from", default=None,
      help="Checkpoint folder to start from (e.g. to fine-tune to a new "
           "lambda).")
  if "rdft_kernels" in script.training_features:
    parser.add_argument(
        "--rdft_kernels", choices=layers.RDFT_IMPLEMENTATIONS,
        default="basis",
        help="How RDFT-parameterized kernels are computed: 'basis' (one "
             "matrix product; the same function, faster on CPU: README, "
             "benchmarks/speed.py) or 'fft' (TFC's inverse FFTs).")
  parser.add_argument(
      "--preprocess_threads", type=int, default=2,
      help="Threads decoding and cropping training images.")
  parser.add_argument(
      "--seed", type=int, default=None,
      help="Seed of initialization, crops and noise: the same seed gives "
           "the same weights on the same machine (not across machines).")
  distribution.add_flags(parser)


class StopOnNaN(tf.keras.callbacks.Callback):
  """Stops at the first non-finite loss with a one-line error naming the
  step. It raises rather than asking Keras to stop, so that the epoch does
  not end: no backup of the diverged weights replaces the last good one."""

  def on_train_batch_end(self, batch, logs=None):
    loss = (logs or {}).get("loss")
    if loss is not None and not math.isfinite(float(loss)):
      step = int(self.model.optimizer.iterations.numpy())
      raise UserError(f"training diverged: the loss became {float(loss)} at "
                      f"step {step:,}; no checkpoint was written, and the "
                      f"last backup (end of the previous epoch) is kept")


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


def _datasets(args):
  """(training batches, validation batches, description of the data).

  Checks the data before anything is written: a bad glob or a patch size
  no training image reaches is a one-line error.
  """
  if not args.train_glob:
    validation = training_images.tfds_patches(
        args.tfds_dataset, "validation", args.batchsize, args.patchsize)
    return (training_images.tfds_patches(args.tfds_dataset, "train",
                                         args.batchsize, args.patchsize),
            validation.take(max(args.max_validation_steps, 1)).cache(),
            dict(tfds=args.tfds_dataset))
  train_files = training_images.expand_globs(args.train_glob)
  validation_files = (training_images.expand_globs(args.validation_glob)
                      if args.validation_glob else train_files)
  for files, what in ((train_files, "training"),
                      (validation_files, "validation")):
    training_images.check_patches_fit(files, args.patchsize, what)
  return (
      training_images.training_patches(
          train_files, args.batchsize, args.patchsize,
          args.preprocess_threads, seed=args.seed),
      training_images.validation_patches(
          validation_files, args.batchsize, args.patchsize,
          args.preprocess_threads, args.max_validation_steps),
      dict(train=args.train_glob, train_images=len(train_files),
           validation=args.validation_glob))


def _provenance(args, run, data_description):
  from tfcsuite.harness import environment  # The CPU model, for timings.
  epochs = run.epochs()
  commands = run.commands()
  return dict(
      command=commands[-1]["command"] if commands else None,
      commands=commands,
      data=data_description,
      steps=sum(r["steps"] for r in epochs),
      wall_seconds=round(sum(r["seconds"] for r in epochs), 1),
      final_epoch=epochs[-1] if epochs else None,
      init_from=args.init_from,
      hyperparameters={name: getattr(args, name) for name in HYPERPARAMETERS
                       if hasattr(args, name)},
      platform=dict(machine=platform.machine(), cpus=os.cpu_count(),
                    cpu=environment.cpu_model(), tensorflow=tf.__version__),
      date=time.strftime("%Y-%m-%d", time.gmtime()),
      git=environment.git_state(),  # The code's commit (and local edits).
  )


def _export(script, config, model, model_path, provenance):
  checkpoint.save(model_path, script.name, config.to_dict(),
                  model.export_weights(), provenance)
  print(f"Wrote checkpoint {model_path} "
        f"({count(provenance['steps'], 'step')}, "
        f"{provenance['wall_seconds']:.0f} s).")


def _finished_run(script, args, run, model, model_path, config, data):
  """`train` of a run that already has --epochs epochs: no step is run.

  Says so; exports the backed-up weights only if `model_path` does not hold
  this run's checkpoint yet.
  """
  steps = run.steps()
  try:
    exported = checkpoint.load(model_path, script.name)
  except UserError:
    exported = None
  if exported and exported.manifest["provenance"].get("steps") == steps:
    print(f"Training in {run.path} is complete: "
          f"{count(len(run.epochs()), 'epoch')} ({count(steps, 'step')}); its "
          f"checkpoint is {model_path}. Pass a larger --epochs to continue "
          f"it.")
    return
  backup = tf.train.latest_checkpoint(os.path.join(run.path, "backup",
                                                   "chief"))
  if backup is None:
    raise UserError(f"{run.path} has no backup to export from")
  averaged = optimization.options(args).ema_momentum > 0
  if averaged:  # The averages are in the optimizer's state.
    model.prepare_training(optimization.learning_rate_schedule(args),
                           optimization.options(args))
    model.optimizer.build(model.trainable_variables)
  # Else only the model's weights: the optimizer's state is not needed.
  tf.train.Checkpoint(model=model).restore(backup).expect_partial()
  if averaged:
    optimization.export_averages(model)
  _export(script, config, model, model_path, _provenance(args, run, data))


def train(script, args):
  """Trains `script`'s model as the flags say and exports a checkpoint."""
  strategy = distribution.strategy(args)  # Before any other operation.
  chief = distribution.is_chief(strategy)
  config = config_lib.from_flags(script.config, args)
  train_path = args.train_path or os.path.join("runs",
                                               config.run_name(script.name))
  model_path = args.model_path or os.path.join(train_path, "checkpoint")
  run = training_run.TrainingRun(train_path)
  averaged = optimization.options(args).ema_momentum > 0
  run.check_configuration(script.name, config.to_dict(),
                          lambda name: config_lib.flag_of(script.config, name),
                          averaged)
  train_data, validation_data, data_description = _datasets(args)
  if args.seed is not None:
    tf.keras.utils.set_random_seed(args.seed)
  if hasattr(args, "rdft_kernels"):  # Models with RDFT kernels only.
    layers.set_rdft_implementation(args.rdft_kernels)
  with strategy.scope():
    model = script.training_model(config)
  if run.started() and len(run.epochs()) >= args.epochs:
    if chief:
      _finished_run(script, args, run, model, model_path, config,
                    data_description)
    return
  with strategy.scope():
    if args.init_from:
      model.initialize_from(checkpoint.load(args.init_from,
                                            script.name).weights)
    model.prepare_training(optimization.learning_rate_schedule(args),
                           optimization.options(args))
  callbacks = [
      StopOnNaN(),
      # Kept after training ends (unlike TFC's), so that running `train`
      # again with a larger --epochs continues, optimizer state included.
      # (Other workers of a multi-worker run back up to their own folders.)
      tf.keras.callbacks.BackupAndRestore(
          os.path.join(train_path, "backup"), delete_checkpoint=False),
  ]
  if chief:  # The run's records and logs are the chief's alone.
    run.record_configuration(script.name, config.to_dict(), averaged)
    callbacks += [
        tf.keras.callbacks.TensorBoard(
            log_dir=os.path.join(train_path, "logs"), update_freq="epoch"),
        reconstruction_log.ReconstructionLog(
            os.path.join(train_path, "logs"), validation_data),
        _EpochLog(run.epoch_log, args.steps_per_epoch),
    ]
    run.record_command(" ".join(shlex.quote(a) for a in sys.argv),
                       run.steps())
  # With --ema_momentum, `fit` ends by replacing the weights by their
  # averages (after the last backup, which keeps both): those are exported.
  model.fit(
      distribution.distribute(strategy, lambda: train_data, args.batchsize),
      epochs=args.epochs, steps_per_epoch=args.steps_per_epoch,
      validation_data=distribution.distribute(
          strategy, lambda: validation_data, args.batchsize),
      validation_steps=distribution.steps(strategy, validation_data,
                                          args.batchsize),
      callbacks=callbacks, verbose=1 if args.verbose else 2)
  if chief:
    _export(script, config, model, model_path,
            _provenance(args, run, data_description))
  distribution.barrier(strategy)
