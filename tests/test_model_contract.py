"""The shared model contract serves a model of another kind, unchanged.

tests/toy_binary_autoencoder.py is a binary autoencoder with no lambda, no
entropy model in its loss and a per-channel Bernoulli model coded by TFC's
range coder: unlike every model under models/. Defined outside tfcsuite and
models/, it trains, compresses, decompresses and goes through the Kodak
harness with the shared code as it is.
"""

import json
import subprocess

import numpy as np
import pytest

from conftest import PYTHON, REPO_ROOT

from tfcsuite import (UserError, checkpoint, coding, config, container,
                      image_io, zoo)
from tfcsuite.harness import kodak_cli

TOY = REPO_ROOT / "tests" / "toy_binary_autoencoder.py"


def run(*argv):
  return subprocess.run([PYTHON, str(TOY), *map(str, argv)], cwd=REPO_ROOT,
                        capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def toy(tmp_path_factory, train_dir):
  """(checkpoint folder, its loaded model) after 30 training steps."""
  folder = tmp_path_factory.mktemp("toy")
  result = run("--model_path", folder / "toy", "train",
               "--train_glob", train_dir / "10*.jpg", "--epochs", 1,
               "--steps_per_epoch", 30, "--batchsize", 4, "--patchsize", 64,
               "--max_validation_steps", 1, "--learning_rate", 1e-2,
               "--warmup_steps", 5, "--train_path", folder / "run",
               "--seed", 1)
  assert result.returncode == 0, result.stderr[-2000:]
  zoo.register("toy_binary", TOY)
  ckpt = checkpoint.load(str(folder / "toy"), "toy_binary")
  return folder / "toy", ckpt, zoo.load_script("toy_binary").coding_model(ckpt)


def test_train_stores_its_own_configuration_and_metrics(toy):
  path, ckpt, _ = toy
  assert ckpt.config == {"code_channels": 8, "sparsity": 0.01}
  final = ckpt.manifest["provenance"]["final_epoch"]
  assert {"loss", "bpp", "mse", "val_loss", "val_bpp", "val_mse"} <= set(final)
  assert ckpt.manifest["provenance"]["steps"] == 30
  assert "bernoulli/lookup" in ckpt.weights


def test_cli_round_trip_and_file_size_matches_the_bernoulli_model(
    toy, kodak_dir, tmp_path):
  path, ckpt, model = toy
  source = kodak_dir / "kodim23.png"
  assert run("--model_path", path, "compress", source,
             tmp_path / "a.tfci").returncode == 0
  result = run("--model_path", path, "decompress", tmp_path / "a.tfci",
               tmp_path / "a.png")
  assert result.returncode == 0, result.stderr
  image = image_io.read_image(str(source))
  decoded = image_io.read_image(str(tmp_path / "a.png"))
  parsed = container.unpack((tmp_path / "a.tfci").read_bytes(), "toy_binary")
  np.testing.assert_array_equal(decoded, coding.decode(model, parsed))
  assert parsed.integers == [128, 192]  # 512x768 in 4x4 blocks.
  # The range coder spends what the stored Bernoulli model says, to within
  # its termination bytes and the table's 12-bit probabilities.
  ideal_bits = model.estimate_bits(image)
  assert ideal_bits < 128 * 192 * 8  # The model learned to skew the bits.
  assert len(parsed.strings[0]) * 8 == pytest.approx(ideal_bits, rel=0.01,
                                                    abs=64)


def test_harness_measures_the_toy_model(toy, kodak_dir, tmp_path):
  path, _, _ = toy
  status = kodak_cli.main([
      "--models", "toy_binary", "--checkpoint", f"toy_binary={path}",
      "--no_shipped_checkpoints", "--codecs", "none",
      "--images", "kodim23.png", "--data_dir", str(kodak_dir),
      "--out", str(tmp_path / "out"), "--quiet"])
  assert status == 0
  cached = list((tmp_path / "out" / "cache" / "toy_binary").glob("*/*.json"))
  assert len(cached) == 1
  measured = json.loads(cached[0].read_text())["result"]
  assert measured["curve"] == "toy_binary"
  assert measured["bpp"] == pytest.approx(
      measured["file_bytes"] * 8 / (512 * 768))
  assert 0 < measured["model_estimate_bpp"] < measured["bpp"]
  assert measured["psnr_rgb"] > 10.


def test_checkpoint_with_unknown_settings_is_refused(toy):
  _, ckpt, _ = toy
  script = zoo.load_script("toy_binary")
  with pytest.raises(UserError, match="does not know: lmbda"):
    config.from_dict(script.config, dict(ckpt.config, lmbda=0.01))
