"""Specification of models/balle17.py: training, checkpoints and real coding."""

import glob
import json
import os
import subprocess
import sys

import numpy as np
import pytest

from tfcsuite import checkpoint, cli, coding, container, image_io, metrics, zoo

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SCRIPT = os.path.join(REPO, "models", "balle17.py")
SHARED = os.path.join(REPO, "..", "shared")
KODAK = os.environ.get("TFCS_KODAK_DIR",
                       os.path.join(SHARED, "data", "kodak"))
BSDS = os.environ.get("TFCS_TRAIN_DIR",
                      os.path.join(SHARED, "data", "train", "bsds500"))
SHIPPED = os.path.join(REPO, "checkpoints", "balle17", "lambda0.01")
ENV = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")


def run(*args, cwd=None):
  return subprocess.run([sys.executable, SCRIPT, *map(str, args)], cwd=cwd,
                        env=ENV, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def tiny_checkpoint(tiny_balle17_checkpoint):
  """The conftest's 8-filter model, trained 2 steps by the real `train`."""
  return str(tiny_balle17_checkpoint)


@pytest.fixture(scope="module")
def script():
  return zoo.load_script("balle17")


def test_train_writes_checkpoint_with_provenance(tiny_checkpoint):
  with open(os.path.join(tiny_checkpoint, "manifest.json")) as f:
    manifest = json.load(f)
  assert manifest["model"] == "balle17"
  assert manifest["config"] == {"lmbda": 0.01, "num_filters": 8}
  assert manifest["provenance"]["steps"] == 2
  assert manifest["provenance"]["data"]["train_images"] == len(
      glob.glob(os.path.join(BSDS, "train", "10*.jpg")))


def test_train_again_with_more_epochs_continues(tiny_checkpoint, tmp_path):
  # Copy the finished run, then ask for one more epoch: only 2 steps run.
  run_dir = os.path.join(os.path.dirname(tiny_checkpoint), "run")
  subprocess.run(["cp", "-r", run_dir, tmp_path / "run"], check=True)
  result = run("train", "--train_glob", os.path.join(BSDS, "train", "10*.jpg"),
               "--epochs", 2, "--steps_per_epoch", 2,
               "--max_validation_steps", 1, "--num_filters", 8,
               "--batchsize", 1, "--patchsize", 64,
               "--train_path", tmp_path / "run",
               "--model_path", tmp_path / "more")
  assert result.returncode == 0, result.stderr
  log = (tmp_path / "run" / "epochs.jsonl").read_text().splitlines()
  assert [json.loads(line)["epoch"] for line in log] == [1, 2]
  with open(tmp_path / "more" / "manifest.json") as f:
    assert json.load(f)["provenance"]["steps"] == 4


def test_coding_model_computes_the_trained_function(tiny_checkpoint, script):
  """Materialized constant weights decode exactly what training evaluates."""
  import tensorflow as tf
  ckpt = checkpoint.load(tiny_checkpoint, "balle17")
  trained = script.training_model(ckpt.config)
  trained.initialize_from(ckpt.weights)
  coder = script.coding_model(ckpt)
  image = image_io.read_image(os.path.join(KODAK, "kodim23.png"))[:128, :192]
  x = tf.constant(image, tf.float32)[None]
  y = trained.analysis_transform(x)
  offset = ckpt.weights["latent/quantization_offset"]
  expected = trained.synthesis_transform(tf.round(y - offset) + offset)
  expected = tf.saturate_cast(tf.round(expected[0]), tf.uint8).numpy()
  decoded = coding.decode(
      coder, coding.encode(coder, ckpt, image))
  assert np.mean(decoded != expected) < 1e-3  # Float rounding ties only.


def test_init_from_reproduces_checkpoint_weights(tiny_checkpoint, script):
  ckpt = checkpoint.load(tiny_checkpoint, "balle17")
  model = script.training_model(ckpt.config)
  model.initialize_from(ckpt.weights)
  exported = model.export_weights()
  assert exported.keys() == ckpt.weights.keys()
  for key, value in ckpt.weights.items():
    np.testing.assert_allclose(exported[key], value, rtol=1e-4, atol=1e-6,
                               err_msg=key)


def in_process(script, *argv):
  """Runs the CLI in this process; returns the exit status."""
  args = cli.parse_args(script, ["balle17.py", *map(str, argv)])
  try:
    cli._run(script, args)
  except SystemExit as exit_:
    return exit_.code
  return 0


@pytest.fixture(scope="module")
def kodim01_tfci(tmp_path_factory):
  path = tmp_path_factory.mktemp("shipped") / "kodim01.tfci"
  result = run("compress", os.path.join(KODAK, "kodim01.png"), path, "-V")
  assert result.returncode == 0, result.stderr
  return path, result.stdout


def test_shipped_checkpoint_round_trip_on_kodak(kodim01_tfci, tmp_path):
  path, stdout = kodim01_tfci
  result = run("decompress", path, tmp_path / "kodim01.png")
  assert result.returncode == 0, result.stderr
  original = image_io.read_image(os.path.join(KODAK, "kodim01.png"))
  decoded = image_io.read_image(tmp_path / "kodim01.png")
  assert decoded.shape == original.shape == (512, 768, 3)
  assert metrics.psnr(original, decoded) > 25.
  actual_bpp = metrics.bits_per_pixel(os.path.getsize(path), 512, 768)
  assert f"Actual bits per pixel: {actual_bpp:0.4f}" in stdout
  estimate = float(stdout.split("(model estimate, bpp): ")[1].split()[0])
  assert abs(actual_bpp - estimate) / estimate < 0.02


def test_recompressing_gives_identical_bytes(kodim01_tfci, tmp_path, script):
  path, _ = kodim01_tfci
  assert in_process(script, "compress", os.path.join(KODAK, "kodim01.png"),
                    tmp_path / "again.tfci") == 0
  assert (tmp_path / "again.tfci").read_bytes() == path.read_bytes()


def test_fresh_processes_decode_identical_pixels(kodim01_tfci, tmp_path,
                                                 script):
  path, _ = kodim01_tfci
  result = run("decompress", path, tmp_path / "a.png")
  assert result.returncode == 0, result.stderr
  assert in_process(script, "decompress", path, tmp_path / "b.png") == 0
  np.testing.assert_array_equal(image_io.read_image(tmp_path / "a.png"),
                                image_io.read_image(tmp_path / "b.png"))


def test_odd_sized_image_round_trips_to_its_exact_shape(tmp_path, script):
  image = image_io.read_image(os.path.join(KODAK, "kodim05.png"))[:77, :131]
  image_io.write_image(str(tmp_path / "odd.png"), image)
  assert in_process(script, "compress", tmp_path / "odd.png",
                    tmp_path / "odd.tfci") == 0
  assert in_process(script, "decompress", tmp_path / "odd.tfci",
                    tmp_path / "back.png") == 0
  assert image_io.read_image(tmp_path / "back.png").shape == (77, 131, 3)


def corrupt(data):
  data = bytearray(data)
  data[len(data) // 2] ^= 0xFF
  return bytes(data)


BAD_INPUTS = {
    "missing input": (
        "compress", lambda d: [d / "absent.png", d / "out.tfci"],
        "does not exist"),
    "not an image": (
        "compress", lambda d: [d / "text.png", d / "out.tfci"],
        "not an image Pillow can read"),
    "output exists": (
        "compress", lambda d: [os.path.join(KODAK, "kodim02.png"), d / "keep"],
        "exists; pass --overwrite"),
    "not a container": (
        "decompress", lambda d: [d / "text.png", d / "out.png"],
        "missing TFCS signature"),
    "truncated": (
        "decompress", lambda d: [d / "truncated.tfci", d / "out.png"],
        "truncated"),
    "corrupted": (
        "decompress", lambda d: [d / "corrupted.tfci", d / "out.png"],
        "checksum mismatch"),
    "other model": (
        "decompress", lambda d: [d / "other.tfci", d / "out.png"],
        "compressed by model 'balle18'"),
    "other weights": (
        "decompress", lambda d: [d / "reweighted.tfci", d / "out.png"],
        "other weights"),
    "bad checkpoint": (
        "compress", lambda d: [os.path.join(KODAK, "kodim02.png"),
                               d / "out.tfci", "--model_path", d],
        "not a checkpoint folder"),
}


@pytest.fixture
def bad_files(tmp_path, kodim01_tfci):
  good = kodim01_tfci[0].read_bytes()
  (tmp_path / "text.png").write_text("hello")
  (tmp_path / "keep").write_bytes(b"precious")
  (tmp_path / "truncated.tfci").write_bytes(good[:len(good) // 2])
  (tmp_path / "corrupted.tfci").write_bytes(corrupt(good))
  parsed = container.unpack(good)
  parsed.model = "balle18"
  (tmp_path / "other.tfci").write_bytes(container.pack(parsed))
  parsed.model, parsed.weights_crc32 = "balle17", parsed.weights_crc32 ^ 1
  (tmp_path / "reweighted.tfci").write_bytes(container.pack(parsed))
  return tmp_path


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_gives_one_line_error_and_no_output(case, bad_files, script,
                                                      capsys):
  command, arguments, message = BAD_INPUTS[case]
  before = sorted(os.listdir(bad_files))
  assert in_process(script, command, *arguments(bad_files)) == 1
  error = capsys.readouterr().err
  assert message in error and error.count("\n") == 1, error
  assert sorted(os.listdir(bad_files)) == before
  assert (bad_files / "keep").read_bytes() == b"precious"


def test_bad_input_exit_status_from_a_real_process(tmp_path):
  result = run("decompress", os.path.join(KODAK, "kodim01.png"),
               tmp_path / "out.png")
  assert result.returncode == 1
  assert result.stderr.strip().endswith("missing TFCS signature)")
  assert "Traceback" not in result.stderr
  assert not (tmp_path / "out.png").exists()
