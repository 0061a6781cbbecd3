"""Shared test fixtures: data folders, the benchmark scripts, tiny checkpoints.

Read-only data lives outside the repository, in ../shared (overridable with
TFCS_KODAK_DIR, TFCS_REFERENCE_DIR and TFCS_TRAIN_DIR); tests that need a
missing folder are skipped, never pointed at a copy inside the project.
"""

import os
import pathlib
import subprocess
import sys

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
SHARED = REPO_ROOT.parent / "shared"
BENCHMARKS = REPO_ROOT / "benchmarks"
PYTHON = sys.executable

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def load_benchmark(name):
  """The script benchmarks/<name>.py as a module, loaded by path."""
  import importlib.util
  spec = importlib.util.spec_from_file_location(f"benchmark_{name}",
                                                BENCHMARKS / f"{name}.py")
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module


def _folder(variable, default):
  path = pathlib.Path(os.environ.get(variable) or default)
  if not path.is_dir():
    pytest.skip(f"{path} not found (set {variable})")
  return path


@pytest.fixture(scope="session")
def kodak_dir():
  return _folder("TFCS_KODAK_DIR", SHARED / "data" / "kodak")


@pytest.fixture(scope="session")
def reference_dir():
  return _folder("TFCS_REFERENCE_DIR", SHARED / "reference")


@pytest.fixture(scope="session")
def train_dir():
  return _folder("TFCS_TRAIN_DIR", SHARED / "data" / "train" / "bsds500" /
                 "train")


def in_memory_checkpoint(model, name="untrained", **settings):
  """A checkpoint of `model`'s freshly initialized networks (seeded)."""
  import dataclasses
  import tensorflow as tf
  from tfcsuite import checkpoint, zoo
  tf.keras.utils.set_random_seed(1)
  script = zoo.load_script(model)
  config = script.config(**settings)
  manifest = dict(model=model, config=dataclasses.asdict(config))
  return checkpoint.Checkpoint(
      name, manifest, script.training_model(config).export_weights(),
      fingerprint=0)


def _train_tiny_checkpoint(tmp_path_factory, train_dir, model, *model_flags):
  """Trains `models/<model>.py` for 2 steps on 64² patches; the checkpoint."""
  folder = tmp_path_factory.mktemp(f"tiny_{model}")
  checkpoint = folder / "tiny"
  # A handful of training images: decoding all of BSDS500 would take longer
  # than the two steps.
  command = [
      PYTHON, str(REPO_ROOT / "models" / f"{model}.py"),
      "--model_path", str(checkpoint), "train",
      "--train_glob", str(train_dir / "10*.jpg"),
      "--epochs", "1", "--steps_per_epoch", "2", "--max_validation_steps", "1",
      "--batchsize", "1", "--patchsize", "64",
      "--train_path", str(folder / "run"), "--seed", "1", *model_flags,
  ]
  result = subprocess.run(command, cwd=REPO_ROOT, capture_output=True,
                          text=True, timeout=600)
  assert result.returncode == 0, result.stderr[-2000:]
  assert (checkpoint / "manifest.json").is_file()
  return checkpoint


@pytest.fixture(scope="session")
def tiny_balle17_checkpoint(tmp_path_factory, train_dir):
  """A balle17 checkpoint with 8 filters after 2 training steps (~20 s)."""
  return _train_tiny_checkpoint(tmp_path_factory, train_dir, "balle17",
                                "--num_filters", "8")


@pytest.fixture(scope="session")
def tiny_balle18_checkpoint(tmp_path_factory, train_dir):
  """A balle18 checkpoint with N = 8, M = 12 after 2 training steps."""
  return _train_tiny_checkpoint(tmp_path_factory, train_dir, "balle18",
                                "--num_filters", "8",
                                "--num_latent_filters", "12")


@pytest.fixture(scope="session")
def tiny_jiang17_checkpoint(tmp_path_factory, train_dir):
  """An RGB jiang17 checkpoint: 8 filters, a 3-layer RecCNN, 2 steps."""
  return _train_tiny_checkpoint(tmp_path_factory, train_dir, "jiang17",
                                "--num_filters", "8", "--reccnn_depth", "3",
                                "--train_qualities", "5", "40")


@pytest.fixture(scope="session")
def tiny_jiang17_gray_checkpoint(tmp_path_factory, train_dir):
  """The grayscale variant (`--channels 1`) of the tiny jiang17 checkpoint."""
  return _train_tiny_checkpoint(tmp_path_factory, train_dir, "jiang17",
                                "--channels", "1", "--num_filters", "8",
                                "--reccnn_depth", "3",
                                "--train_qualities", "5", "10")


@pytest.fixture(scope="session")
def coding_models():
  """Loaded shipped checkpoints, shared: `.get(script, path)` as decompress."""
  from tfcsuite import coding_commands
  return coding_commands.CodingModels()


def default_coding_model(models, name):
  """(checkpoint, coding model) of model `name`'s default checkpoint."""
  from tfcsuite import zoo
  script = zoo.load_script(name)
  return models.get(script, script.default_checkpoint_path())
