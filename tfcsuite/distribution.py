"""Training on several devices or machines with TensorFlow's `tf.distribute`.

`train --distribute` chooses the strategy:

  none          one device (TensorFlow's default strategy)
  mirrored      `MirroredStrategy`: synchronous data parallelism over this
                machine's GPUs (or, with --cpu_devices N and no GPU, over N
                logical CPU devices: for testing)
  multi_worker  `MultiWorkerMirroredStrategy` over the machines that the
                TF_CONFIG environment variable lists (every worker runs the
                same `train` command; worker 0 is the chief)

`--batchsize` is the *global* batch: each step splits it evenly over the
replicas, so the same flags train the same model on any number of devices
(README: "Training on several GPUs or machines"). Every worker builds the
same seeded input pipeline and takes its own slice of each global batch, so a
distributed step sees exactly the patches a single-device step sees.
"""

import json
import os

import tensorflow as tf

from tfcsuite import UserError

CHOICES = ("none", "mirrored", "multi_worker")


def add_flags(parser):
  parser.add_argument(
      "--distribute", choices=CHOICES, default="none",
      help="tf.distribute strategy: 'mirrored' over this machine's GPUs, "
           "'multi_worker' over the machines in TF_CONFIG; --batchsize is "
           "the global batch, split over the replicas.")
  parser.add_argument(
      "--cpu_devices", type=int, default=1,
      help="With --distribute mirrored and no GPU: mirror over this many "
           "logical CPU devices (for testing the distributed code path).")


def strategy(args):
  """The strategy the flags ask for. Call it before any other TensorFlow
  operation: device configuration and collective ops are fixed at start."""
  name = getattr(args, "distribute", "none")
  if name == "none":
    return tf.distribute.get_strategy()
  if name == "multi_worker":
    if not os.environ.get("TF_CONFIG"):
      raise UserError("--distribute multi_worker needs the TF_CONFIG "
                      "environment variable (the cluster and this worker's "
                      "task)")
    return tf.distribute.MultiWorkerMirroredStrategy()
  devices = None
  if not tf.config.list_physical_devices("GPU") and args.cpu_devices > 1:
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * args.cpu_devices)
    devices = [f"/cpu:{i}" for i in range(args.cpu_devices)]
  return tf.distribute.MirroredStrategy(devices)


def is_chief(strategy_):
  """Whether this process writes the run's records, logs and checkpoint."""
  resolver = getattr(strategy_, "cluster_resolver", None)
  if resolver is None or not resolver.task_type:
    return True
  cluster = json.loads(os.environ.get("TF_CONFIG", "{}")).get("cluster", {})
  if "chief" in cluster:
    return resolver.task_type == "chief"
  return resolver.task_type == "worker" and resolver.task_id == 0


def distribute(strategy_, make_dataset, batchsize):
  """`make_dataset()` (batches of `batchsize`) as the strategy's input.

  Without replicas, the dataset itself. Otherwise every input pipeline (one
  per worker) builds the same dataset, keeps full batches only, takes its
  own slice of each and splits the slice into per-replica batches.
  """
  replicas = strategy_.num_replicas_in_sync
  if replicas == 1:
    return make_dataset()
  if batchsize % replicas:
    raise UserError(f"--batchsize {batchsize} does not split evenly over "
                    f"{replicas} replicas")
  per_replica = batchsize // replicas

  def pipeline(context):
    per_pipeline = batchsize // context.num_input_pipelines
    first = context.input_pipeline_id * per_pipeline
    dataset = make_dataset().filter(
        lambda batch: tf.shape(batch)[0] == batchsize)
    dataset = dataset.map(lambda batch: batch[first:first + per_pipeline])
    return dataset.rebatch(per_replica)

  return strategy_.distribute_datasets_from_function(pipeline)


def steps(strategy_, dataset, batchsize):
  """Batches `distribute` yields of a finite `dataset` (Keras needs the
  number for a distributed one); None without replicas."""
  if strategy_.num_replicas_in_sync == 1:
    return None
  return sum(1 for batch in dataset if batch.shape[0] == batchsize)


def barrier(strategy_):
  """Waits for every worker (so that none exits while the chief writes)."""
  if strategy_.num_replicas_in_sync > 1:
    strategy_.reduce(tf.distribute.ReduceOp.SUM,
                     strategy_.run(lambda: tf.constant(1.)), axis=None)


def mean_over_replicas(gradients):
  """Gradients of one replica's mean loss, divided by the number of replicas.

  Optimizers sum the replicas' gradients; after this division the sum is the
  gradient of the mean loss over the global batch, as on one device.
  """
  replicas = tf.distribute.get_strategy().num_replicas_in_sync
  if replicas == 1:
    return gradients
  return [None if g is None else g / replicas for g in gradients]
