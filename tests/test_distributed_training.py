"""`train --distribute`: the same training on one device, on 2 logical CPU
devices (MirroredStrategy) and on 2 workers on localhost ports
(MultiWorkerMirroredStrategy from TF_CONFIG).

One tiny balle17 (8 filters, 32² patches, global batch 4, 3 steps of Adam at
a constant 1e-2) per configuration, all four processes at once. Adam is
blind to a constant gradient scale, so whether replicas average their
gradients (rather than sum them) is checked by one plain SGD step.
"""

import json
import os
import socket
import subprocess
import textwrap

import pytest

from conftest import PYTHON, REPO_ROOT

STEPS = 3
# Relative. Replicas draw their own quantization noise, which changes the
# gradients a little; Adam's first steps amplify that (measured: within
# 0.3 % on 2 logical CPUs, 1.5 % on 2 workers at step 3; the trained model's
# loss moves by about 14 % over these steps against a negligible learning
# rate).
TOLERANCE = 0.02


def _free_ports(count):
  sockets = [socket.socket() for _ in range(count)]
  for s in sockets:
    s.bind(("localhost", 0))
  ports = [s.getsockname()[1] for s in sockets]
  for s in sockets:
    s.close()
  return ports


def _train(folder, train_dir, *flags, env=None):
  """Starts a tiny `train`; the process."""
  command = [
      PYTHON, str(REPO_ROOT / "models" / "balle17.py"),
      "--model_path", str(folder / "checkpoint"), "train",
      "--train_glob", str(train_dir / "10*.jpg"), "--epochs", str(STEPS),
      "--steps_per_epoch", "1", "--max_validation_steps", "1",
      "--batchsize", "4", "--patchsize", "32", "--num_filters", "8",
      "--lr_schedule", "constant", "--learning_rate", "1e-2",
      "--preprocess_threads", "1", "--train_path", str(folder), "--seed", "1",
      *flags]
  return subprocess.Popen(command, cwd=REPO_ROOT, env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _losses(folder):
  with open(folder / "epochs.jsonl") as f:
    return [json.loads(line)["loss"] for line in f]


@pytest.fixture(scope="module")
def runs(tmp_path_factory, train_dir):
  """The folder of the runs: single/, mirrored/, multi_worker/."""
  root = tmp_path_factory.mktemp("distributed")
  cluster = [f"localhost:{port}" for port in _free_ports(2)]
  processes = {
      "single": _train(root / "single", train_dir),
      "mirrored": _train(root / "mirrored", train_dir, "--distribute",
                         "mirrored", "--cpu_devices", "2"),
  }
  for index in range(2):  # Both workers share the run folder, as on NFS.
    env = dict(os.environ, TF_CONFIG=json.dumps(dict(
        cluster=dict(worker=cluster), task=dict(type="worker", index=index))))
    processes[f"worker{index}"] = _train(
        root / "multi_worker", train_dir, "--distribute", "multi_worker",
        env=env)
  for name, process in processes.items():
    _, stderr = process.communicate(timeout=900)
    assert process.returncode == 0, f"{name}: {stderr[-3000:]}"
  return root


@pytest.mark.parametrize("configuration", ["mirrored", "multi_worker"])
def test_loss_trajectory_is_the_single_device_one(runs, configuration):
  single = _losses(runs / "single")
  distributed = _losses(runs / configuration)
  print(f"losses single {single}, {configuration} {distributed}")
  assert len(distributed) == len(single) == STEPS
  # Before any update: the same weights and patches, other noise only.
  assert distributed[0] == pytest.approx(single[0], rel=TOLERANCE / 10)
  assert distributed == pytest.approx(single, rel=TOLERANCE)


def test_tensorboard_shows_reconstructions_and_rate_distortion(runs):
  import tensorflow as tf
  logs = runs / "single" / "logs"
  tags = {}
  for events in logs.glob("*/events.out.tfevents.*"):
    for event in tf.compat.v1.train.summary_iterator(str(events)):
      for value in event.summary.value:
        tags.setdefault((events.parent.name, value.tag), []).append(value)
  for metric in ("loss", "bpp", "mse"):
    assert len(tags["train", f"epoch_{metric}"]) == STEPS
    assert len(tags["validation", f"epoch_{metric}"]) == STEPS
  assert len(tags["reconstructions", "psnr"]) == STEPS
  images = tags["reconstructions", "original | reconstruction"]
  assert len(images) == STEPS
  # Width, height, then 3 PNGs of the original beside its reconstruction.
  width, height, *pngs = tf.make_ndarray(images[-1].tensor)
  assert (int(width), int(height), len(pngs)) == (64, 32, 3)
  assert all(png.startswith(b"\x89PNG") for png in pngs)


SGD_STEP = textwrap.dedent("""
    import numpy as np, tensorflow as tf
    from tfcsuite import distribution, trainable

    class Linear(trainable.TrainableModel):
      def __init__(self):
        super().__init__()
        self.w = tf.Variable(np.linspace(-1., 1., 6, dtype="float32"))
      def training_step(self, batch):
        with tf.GradientTape() as tape:
          loss = tf.reduce_mean(tf.square(batch @ self.w[:, None] - 1.))
        self.minimize(loss, tape)
        return dict(loss=loss)
      def create_optimizers(self, learning_rate):
        return dict(optimizer=tf.keras.optimizers.SGD(learning_rate))

    class Args:
      distribute, cpu_devices = "mirrored", 2
    mirrored = distribution.strategy(Args)
    batch = tf.reshape(tf.range(24, dtype=tf.float32), (4, 6)) / 24.
    weights = []
    for strategy in (tf.distribute.get_strategy(), mirrored):
      with strategy.scope():
        model = Linear()
        model.prepare_training(0.1)
      data = distribution.distribute(
          strategy, lambda: tf.data.Dataset.from_tensors(batch), 4)
      model.fit(data, epochs=1, steps_per_epoch=1, verbose=0)
      weights.append(model.w.numpy())
    print(mirrored.num_replicas_in_sync, abs(weights[0] - weights[1]).max(),
          abs(weights[0] - np.linspace(-1., 1., 6)).max())
    """)


def test_one_sgd_step_on_two_replicas_is_the_single_device_step():
  result = subprocess.run([PYTHON, "-c", SGD_STEP], cwd=REPO_ROOT,
                          capture_output=True, text=True, timeout=600)
  assert result.returncode == 0, result.stderr[-3000:]
  replicas, difference, update = result.stdout.split()
  assert int(replicas) == 2
  assert float(update) > 1e-2  # The step moved the weights,
  assert float(difference) < 1e-6  # by the same amount on 2 replicas.
