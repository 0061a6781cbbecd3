"""Training runs resume honestly: a manifest never states what did not happen.

Uses the conftest's tiny balle17 run (2 steps, 8 filters, `--lambda 0.01`),
copied so that each test changes its own copy.
"""

import json
import shutil
import subprocess

import pytest

from conftest import PYTHON, REPO_ROOT

SCRIPT = REPO_ROOT / "models" / "balle17.py"


@pytest.fixture
def finished(tmp_path, tiny_balle17_checkpoint):
  """A copy of the tiny run's folder and of the checkpoint it exported."""
  shutil.copytree(tiny_balle17_checkpoint.parent / "run", tmp_path / "run")
  shutil.copytree(tiny_balle17_checkpoint, tmp_path / "checkpoint")
  return tmp_path


def train(folder, train_dir, *flags, epochs=1):
  """The tiny run's own `train` command with `flags` added."""
  return subprocess.run(
      [PYTHON, str(SCRIPT), "--model_path", str(folder / "checkpoint"),
       "train", "--train_glob", str(train_dir / "10*.jpg"),
       "--epochs", str(epochs), "--steps_per_epoch", "2",
       "--max_validation_steps", "1", "--batchsize", "1", "--patchsize", "64",
       "--train_path", str(folder / "run"), "--seed", "1",
       "--num_filters", "8", *flags],
      cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)


def snapshot(folder):
  return {str(p.relative_to(folder)): p.read_bytes()
          for p in sorted(folder.rglob("*")) if p.is_file()}


def test_resuming_with_another_lambda_is_refused(finished, train_dir):
  before = snapshot(finished)
  result = train(finished, train_dir, "--lambda", "0.05", epochs=2)
  assert result.returncode == 1
  assert result.stderr.strip().splitlines() == [
      f"balle17.py: error: {finished / 'run'} was started with --lambda "
      f"0.01, not 0.05: resume it with the same value, or start a new run "
      f"with another --train_path"]
  # Neither the run nor its checkpoint (manifest: lambda 0.01) changed.
  assert snapshot(finished) == before


def test_resuming_with_another_number_of_filters_is_one_line(finished,
                                                             train_dir):
  result = train(finished, train_dir, "--num_filters", "64", epochs=2)
  assert result.returncode == 1
  assert "Traceback" not in result.stderr
  assert result.stderr.strip().endswith(
      "was started with --num_filters 8, not 64: resume it with the same "
      "value, or start a new run with another --train_path")


def test_patch_size_no_image_reaches_is_one_line_and_writes_nothing(
    tmp_path, train_dir):
  result = train(tmp_path, train_dir, "--patchsize", "1000")
  assert result.returncode == 1
  assert result.stderr.strip().splitlines() == [
      "balle17.py: error: --patchsize 1000: no training image is that large "
      "(the largest has a shorter side of 321 pixels)"]
  assert list(tmp_path.iterdir()) == []


def test_training_a_finished_run_again_says_it_is_complete(finished,
                                                           train_dir):
  before = snapshot(finished)
  result = train(finished, train_dir)
  assert result.returncode == 0, result.stderr
  assert "is complete: 1 epoch (2 steps)" in result.stdout
  assert "could not be found" not in result.stderr
  assert snapshot(finished) == before


def test_manifest_keeps_every_command_with_its_step_range(finished,
                                                          train_dir):
  result = train(finished, train_dir, epochs=2)
  assert result.returncode == 0, result.stderr
  manifest = json.loads((finished / "checkpoint" /
                         "manifest.json").read_text())
  commands = manifest["provenance"]["commands"]
  assert [c["steps"] for c in commands] == [[0, 2], [2, 4]]
  assert "--epochs 2" in commands[1]["command"]
  assert manifest["provenance"]["command"] == commands[1]["command"]
  assert manifest["provenance"]["steps"] == 4
