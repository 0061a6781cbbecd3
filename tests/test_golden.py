"""Golden files: what earlier code wrote must still load, bit for bit.

`tests/golden/` was written before the shared layer's redesign (see its
README): one compressed 64x96 crop per shipped checkpoint with the image the
code of that time decoded from it, and a tiny training run per model (its
Keras backup and the checkpoint it exported). A redesign that changes a
decoded pixel, a weight name or the training state's object graph fails here.
"""

import json
import shlex
import shutil
import subprocess

import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from conftest import PYTHON, REPO_ROOT

from tfcsuite import checkpoint, coding, container, optimization, zoo

GOLDEN = REPO_ROOT / "tests" / "golden"
with open(GOLDEN / "index.json") as _f:
  FILES = json.load(_f)
TRAINING_STATES = sorted(p.name for p in (GOLDEN / "training_state").iterdir())


def _png(path):
  with Image.open(path) as image:
    return np.asarray(image)


def _shipped(stem):
  """(index entry, coding model, checkpoint) of a golden file."""
  entry = FILES[stem]
  # As `decompress` finds it: the weights of withdrawn and retrained
  # checkpoints are archived (checkpoints/<model>/archived.json) and restored
  # from git history into the session's cache (conftest.py); a clone that
  # cannot restore them fails here.
  ckpt = checkpoint.load(zoo.checkpoint_folder_for_file(
      entry["model"], entry["checkpoint"],
      int(entry["weights_crc32"], 16)), entry["model"])
  return entry, zoo.load_script(entry["model"]).coding_model(ckpt), ckpt


@pytest.mark.parametrize("stem", sorted(FILES))
def test_golden_file_decodes_to_the_golden_image(stem):
  entry, model, ckpt = _shipped(stem)
  parsed = container.unpack((GOLDEN / f"{stem}.tfci").read_bytes(),
                            entry["model"])
  assert parsed.weights_crc32 == ckpt.fingerprint
  decoded = coding.decode(model, parsed)
  np.testing.assert_array_equal(decoded, _png(GOLDEN / f"{stem}.png"))


@pytest.mark.parametrize("stem", sorted(FILES))
def test_golden_crop_compresses_to_the_golden_file(stem):
  entry, model, ckpt = _shipped(stem)
  packed = container.pack(coding.encode(
      model, ckpt, _png(GOLDEN / "astronaut_64x96.png"),
      **entry["options"]))
  assert packed == (GOLDEN / f"{stem}.tfci").read_bytes()


def _training_model(model):
  """The model as `train` builds it, with its optimizers, from the golden
  run's exported configuration."""
  exported = checkpoint.load(
      str(GOLDEN / "training_state" / model / "exported"), model)
  script = zoo.load_script(model)
  trainable = script.training_model(exported.config)
  # As `train`: a schedule, so the learning rate is no variable.
  trainable.prepare_training(
      optimization.WarmupCosineDecay(1e-3, total_steps=4, warmup_steps=1))
  return trainable, exported


@pytest.mark.parametrize("model", TRAINING_STATES)
def test_training_backup_restores_every_weight(model):
  trainable, exported = _training_model(model)
  backup = tf.train.latest_checkpoint(
      str(GOLDEN / "training_state" / model / "backup" / "chief"))
  # The objects Keras' BackupAndRestore saves besides the model.
  counters = {name: tf.Variable(0, dtype=tf.int64) for name in
              ("ckpt_saved_epoch", "ckpt_saved_batch", "train_counter")}
  status = tf.train.Checkpoint(model=trainable, **counters).restore(backup)
  status.assert_existing_objects_matched()
  # Optimizer slots are created by the first step; the resume test below
  # checks that they are restored.
  status.expect_partial()
  weights = trainable.export_weights()
  assert sorted(weights) == sorted(exported.weights)
  for name, value in exported.weights.items():
    np.testing.assert_array_equal(weights[name], value, err_msg=name)


@pytest.mark.parametrize("model", TRAINING_STATES)
def test_training_run_resumes_from_the_golden_backup(tmp_path, train_dir,
                                                     model):
  run = tmp_path / "run"
  shutil.copytree(GOLDEN / "training_state" / model, run,
                  ignore=shutil.ignore_patterns("exported"))
  manifest = json.loads(
      (GOLDEN / "training_state" / model / "exported" /
       "manifest.json").read_text())
  # The golden run's own command, one epoch further.
  argv = shlex.split(manifest["provenance"]["command"])[1:]
  argv[argv.index("--epochs") + 1] = "2"
  argv[argv.index("--train_glob") + 1] = str(train_dir / "10*.jpg")
  argv[argv.index("--train_path") + 1] = str(run)
  argv[argv.index("--model_path") + 1] = str(tmp_path / "checkpoint")
  result = subprocess.run([PYTHON, str(REPO_ROOT / "models" / f"{model}.py"),
                           *argv], cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=600)
  assert result.returncode == 0, result.stderr[-2000:]
  # Every saved value found its variable (optimizer slots included).
  assert "could not be found" not in result.stderr
  epochs = [json.loads(line) for line in
            (run / "epochs.jsonl").read_text().splitlines()]
  assert [e["epoch"] for e in epochs] == [1, 2]  # Epoch 1 was not redone.
  resumed = json.loads((tmp_path / "checkpoint" / "manifest.json").read_text())
  assert resumed["provenance"]["steps"] == 4
