"""Training survives a kill -9 and stops on NaN with the step (issue 19)."""

import json
import math
import signal
import subprocess
import time

import pytest
import tensorflow as tf

from conftest import PYTHON, REPO_ROOT
from tfcsuite import UserError, cli, training, zoo

TOY = REPO_ROOT / "tests" / "toy_binary_autoencoder.py"


def _train_command(folder, train_dir):
  return [PYTHON, str(TOY), "--model_path", str(folder / "toy"), "train",
          "--train_glob", str(train_dir / "10*.jpg"), "--epochs", "3",
          "--steps_per_epoch", "4", "--batchsize", "2", "--patchsize", "32",
          "--max_validation_steps", "1", "--train_path", str(folder / "run"),
          "--seed", "1"]


def _epochs(folder):
  path = folder / "run" / "epochs.jsonl"
  if not path.exists():
    return []
  return [json.loads(line)["epoch"] for line in path.read_text().splitlines()]


def test_kill_9_loses_at_most_one_epoch_and_resumes(tmp_path, train_dir):
  command = _train_command(tmp_path, train_dir)
  process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
  try:
    deadline = time.monotonic() + 300
    while not _epochs(tmp_path) and time.monotonic() < deadline:
      time.sleep(0.2)  # Until the first epoch (and its backup) is done.
    assert _epochs(tmp_path), "no epoch finished in 300 s"
  finally:
    process.send_signal(signal.SIGKILL)
    process.wait()
  done_before = len(_epochs(tmp_path))
  assert not (tmp_path / "toy").exists()  # Killed before the export.
  # The same command again, in this process (a second TensorFlow start
  # would double the test's time).
  zoo.register("toy_binary", TOY)
  script = zoo.load_script("toy_binary")
  training.train(script, cli.parse_args(script, command[1:]))
  epochs = _epochs(tmp_path)
  # Resumed from the last backup: at most the epoch in progress is redone.
  assert done_before >= 1 and sorted(set(epochs)) == [1, 2, 3]
  assert len(epochs) - 3 <= 1  # Epochs logged twice: redone after the kill.
  manifest = json.loads((tmp_path / "toy" / "manifest.json").read_text())
  assert manifest["provenance"]["steps"] == 12


class _Model:
  def __init__(self, step):
    self.optimizer = tf.keras.optimizers.Adam()
    self.optimizer.iterations.assign(step)


@pytest.mark.parametrize("loss", [math.nan, math.inf])
def test_non_finite_loss_stops_with_the_step(loss):
  callback = training.StopOnNaN()
  callback.set_model(_Model(1234))
  callback.on_train_batch_end(0, {"loss": 0.5})  # Finite: goes on.
  with pytest.raises(UserError, match=r"loss became (nan|inf) at step 1,234"):
    callback.on_train_batch_end(1, {"loss": loss})
