"""`tfcs retrain`: a shipped checkpoint trained again from its manifest's
command gives the same weights (same seed, same machine), and a second
`retrain` resumes instead of training again.

The "shipped" checkpoint is the conftest's tiny balle17 (2 steps, 8 filters,
--seed 1), copied into a checkpoints folder of its own.
"""

import json
import shlex
import shutil
import subprocess

import numpy as np

from conftest import PYTHON, REPO_ROOT


def retrain(tmp_path, *flags):
  return subprocess.run(
      [PYTHON, "-m", "tfcsuite.suite", "retrain", "--checkpoints",
       str(tmp_path / "checkpoints"), "--runs_dir", str(tmp_path / "runs"),
       *flags],
      cwd=REPO_ROOT, capture_output=True, text=True, timeout=900)


def test_retraining_with_the_recorded_seed_gives_the_same_weights(
    tmp_path, tiny_balle17_checkpoint):
  shutil.copytree(tiny_balle17_checkpoint,
                  tmp_path / "checkpoints" / "balle17" / "tiny")
  result = retrain(tmp_path)
  assert result.returncode == 0, result.stderr[-3000:]
  retrained = tmp_path / "runs" / "balle17" / "tiny" / "checkpoint"
  manifest = json.loads((retrained / "manifest.json").read_text())
  assert manifest["provenance"]["steps"] == 2
  assert manifest["provenance"]["git"]["sha"]
  with np.load(tiny_balle17_checkpoint / "weights.npz") as original, \
      np.load(retrained / "weights.npz") as again:
    assert sorted(original.files) == sorted(again.files)
    for key in original.files:
      np.testing.assert_array_equal(original[key], again[key], err_msg=key)

  # Run again: the checkpoint is done, nothing is trained or rewritten.
  before = (retrained / "weights.npz").stat().st_mtime_ns
  again = retrain(tmp_path)
  assert again.returncode == 0, again.stderr[-3000:]
  assert "# balle17/tiny: done" in again.stdout
  assert (retrained / "weights.npz").stat().st_mtime_ns == before


def test_full_trains_every_balle17_rate_from_scratch_for_1m_steps(tmp_path):
  result = subprocess.run(
      [PYTHON, "-m", "tfcsuite.suite", "retrain", "--full", "--dry-run",
       "--models", "balle17", "--runs_dir", str(tmp_path)],
      cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
  assert result.returncode == 0, result.stderr[-3000:]
  lines = result.stdout.splitlines()
  plans = [line for line in lines if line.startswith("# ")]
  commands = [line for line in lines if not line.startswith("# ")]
  assert len(plans) == len(commands) == 6  # The shipped balle17 rates.
  for plan, command in zip(plans, commands):
    assert plan.endswith(": 1000000 steps; paper's budget")
    assert "--init_from" not in command
    argv = shlex.split(command)
    for flag, value in (("--epochs", "1000"), ("--steps_per_epoch", "1000"),
                        ("--batchsize", "8"), ("--patchsize", "256"),
                        ("--lr_schedule", "constant"),
                        ("--learning_rate", "0.0001")):
      assert argv.count(flag) == 1 and argv[argv.index(flag) + 1] == value
  assert not tmp_path.exists() or not any(tmp_path.iterdir())


def test_checkpoints_from_an_unshipped_run_are_named_not_retrained(tmp_path):
  # li18's rates were fine-tuned from a pretraining run that is not shipped.
  result = subprocess.run(
      [PYTHON, "-m", "tfcsuite.suite", "retrain", "--dry-run", "--models",
       "li18", "--runs_dir", str(tmp_path)],
      cwd=REPO_ROOT, capture_output=True, text=True, timeout=600)
  assert result.returncode == 1
  lines = result.stdout.splitlines()
  assert len(lines) == 4 and all(": not retrained: " in l for l in lines)
  assert any("li18/r0.1: not retrained: starts from" in l for l in lines)
