"""`tfcs`: one entry point for models, info, compress, decompress (evaluate
has tests/test_evaluate_command.py)."""

import json
import pathlib
import shutil
import subprocess

import numpy as np
import pytest

from conftest import PYTHON, REPO_ROOT

from tfcsuite import checkpoint, container, image_io, suite, zoo
from tfcsuite.harness import results_files, shipped_results

GOLDEN = REPO_ROOT / "tests" / "golden"
TFCS = pathlib.Path(PYTHON).parent / "tfcs"
RESULTS = REPO_ROOT / "benchmarks" / "results"


def run_tfcs(*argv):
  return subprocess.run([str(TFCS), *map(str, argv)], capture_output=True,
                        text=True, timeout=600)


def imports_after(*argv):
  """(exit status, whether TensorFlow was imported) of `tfcs argv`."""
  code = (f"import sys\nfrom tfcsuite import suite\n"
          f"try:\n  status = suite.main({list(argv)!r})\n"
          f"except SystemExit as exit_:\n  status = exit_.code\n"
          f"print(status, 'tensorflow' in sys.modules)")
  result = subprocess.run([PYTHON, "-c", code], capture_output=True,
                          text=True, timeout=120)
  status, imported = result.stdout.split()[-2:]
  return int(status), imported == "True", result.stderr


# ------------------------------------------------------------------- parsing


def test_console_script_is_installed():
  result = run_tfcs("--help")
  assert result.returncode == 0
  for command in ("models", "info", "compress", "decompress", "evaluate"):
    assert command in result.stdout


@pytest.mark.parametrize("argv", [
    ["--help"], ["compress", "--help"], ["evaluate", "--help"]])
def test_help_imports_no_tensorflow(argv):
  assert imports_after(*argv)[:2] == (0, False)


@pytest.mark.parametrize("argv, message", [
    (["evaluate", "x"], "the following arguments are required: --model"),
    (["compress", "a.png"], "the following arguments are required: --model"),
    (["compress", "--model", "nope", "a.png"], "unknown model 'nope'"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["info", "a", "--verbose"], "unrecognized arguments: --verbose"),
])
def test_usage_error_is_one_line_without_tensorflow(argv, message):
  status, imported, error = imports_after(*argv)
  assert status in (1, 2) and not imported
  assert error.count("\n") == 1 and message in error, error


def test_model_compress_option_is_checked_once_the_model_is_known():
  result = run_tfcs("compress", "--model", "jiang17", "--quality", "101",
                    "a.png")
  assert result.returncode == 2
  assert result.stderr == ("tfcs compress: error: argument --quality: JPEG "
                           "quality must be 1..100: 101 (see --help)\n")


# -------------------------------------------------------------------- models


def _committed_point(path, curve_name, label):
  run = json.loads((RESULTS / path).read_text())
  [curve] = [c for c in run["curves"] if c["name"] == curve_name]
  index = curve["points"].index(label)
  return curve["results"]["bpp"][index], curve["results"]["psnr-rgb"][index]


@pytest.fixture(scope="module")
def models_text():
  result = run_tfcs("models")
  assert result.returncode == 0, result.stderr
  return result.stdout.splitlines()


def _row(lines, model, first_cells):
  start = lines.index(next(l for l in lines if l.startswith(f"{model}: ")))
  return next(l.split() for l in lines[start:]
              if l.split()[:len(first_cells)] == first_cells)


def test_models_shows_committed_kodak_means(models_text):
  bpp, psnr = _committed_point("kodak.json", "balle17", "lambda0.01")
  shipped = checkpoint.load(str(REPO_ROOT / "checkpoints" / "balle17" /
                                "lambda0.01"))
  # The committed run recorded these weights' fingerprint: no "†".
  assert _row(models_text, "balle17", ["lambda0.01", "(default)"])[2:] == [
      f"{shipped.fingerprint:08x}", "-", f"{bpp:.3f}", f"{psnr:.2f}"]
  # The newest committed run with jiang17 (every model at once) recorded
  # its fingerprint too.
  bpp, psnr = _committed_point("kodak.json", "jiang17", "rgb-q10")
  assert _row(models_text, "jiang17", ["--quality", "10"])[2:] == [
      f"{bpp:.3f}", f"{psnr:.2f}"]


def test_models_shows_a_dash_where_nothing_was_measured(models_text):
  assert _row(models_text, "jiang17", ["gray"]) == [
      "gray", "6e262183", "—", "—", "—"]


def _harness_run(path, date, settings, complete=True):
  """A harness results file with one balle17 curve of these settings."""
  path.write_text(json.dumps(dict(
      generator=results_files.GENERATOR,
      metadata=dict(date=date, complete=complete),
      curves=[dict(name="balle17", kind="model", settings=settings,
                   results={"bpp": [0.5 + i for i in range(len(settings))],
                            "psnr-rgb": [30. + i
                                         for i in range(len(settings))]})])))
  return str(path)


@pytest.fixture(scope="module")
def lambda001():
  return (zoo.load_script("balle17"),
          checkpoint.load(str(REPO_ROOT / "checkpoints" / "balle17" /
                              "lambda0.01")))


def test_newest_complete_run_with_the_same_weights_wins(tmp_path, lambda001):
  script, ckpt = lambda001
  same = dict(checkpoint="lambda0.01", config=ckpt.config, model="balle17",
              weights_crc32=f"{ckpt.fingerprint:08x}")
  paths = [
      _harness_run(tmp_path / "old.json", "2026-01-01 00:00 UTC", [same]),
      _harness_run(tmp_path / "new.json", "2026-02-01 00:00 UTC",
                   [dict(same, weights_crc32="00000000"), same]),
      _harness_run(tmp_path / "part.json", "2026-03-01 00:00 UTC", [same],
                   complete=False),
  ]
  [point] = shipped_results.kodak_means(script, ckpt, paths)
  assert (point.kodak.bpp, point.kodak.psnr) == (1.5, 31.)  # new.json, 2nd.
  assert point.kodak.date == "2026-02-01 00:00 UTC"
  assert point.kodak.fingerprint_checked


def test_other_weights_or_configuration_give_no_number(tmp_path, lambda001):
  script, ckpt = lambda001
  path = _harness_run(tmp_path / "run.json", "2026-01-01 00:00 UTC", [
      dict(checkpoint="lambda0.01", config=ckpt.config,
           weights_crc32="00000000"),
      dict(checkpoint="lambda0.01", config=dict(ckpt.config, lmbda=0.02))])
  [point] = shipped_results.kodak_means(script, ckpt, [path])
  assert point.kodak is None


def test_a_retrained_checkpoint_takes_no_number_without_fingerprint(
    tmp_path, lambda001):
  script, ckpt = lambda001
  # lambda0.01 was retrained: its earlier weights are archived.
  assert zoo.has_replaced_versions("balle17", "lambda0.01")
  path = _harness_run(tmp_path / "run.json", "2026-01-01 00:00 UTC", [
      dict(checkpoint="lambda0.01", config=ckpt.config)])
  [point] = shipped_results.kodak_means(script, ckpt, [path])
  assert point.kodak is None


def test_a_run_without_fingerprints_counts_for_a_never_retrained_one(
    tmp_path):
  """Marked "†" by `tfcs models`: matched by name, configuration, options."""
  script = zoo.load_script("balle17")
  ckpt = checkpoint.load(zoo.shipped_folder("balle17", "lambda0.0008"))
  assert not zoo.has_replaced_versions("balle17", "lambda0.0008")
  path = _harness_run(tmp_path / "run.json", "2026-01-01 00:00 UTC", [
      dict(checkpoint="lambda0.0008", config=ckpt.config)])
  [point] = shipped_results.kodak_means(script, ckpt, [path])
  assert (point.kodak.bpp, point.kodak.psnr) == (0.5, 30.)
  assert not point.kodak.fingerprint_checked


# ---------------------------------------------------------------------- info


def test_info_reads_the_header_only():
  result = run_tfcs("info", GOLDEN / "balle17_lambda0.01.tfci")
  data = (GOLDEN / "balle17_lambda0.01.tfci").read_bytes()
  payload = sum(len(s) for s in container.unpack(data).strings)
  assert result.returncode == 0 and result.stderr == ""
  assert result.stdout.splitlines()[1:] == [
      "Model: balle17",
      "Checkpoint: lambda0.01",
      # Made with weights since retrained and archived: named, not restored.
      "Weights CRC32: 455e216f (matches the archived checkpoint "
      "checkpoints/balle17/retired/455e216f/lambda0.01; decompress restores "
      "it from git history or $TFCS_CHECKPOINT_MIRROR)",
      "Image size: 96x64 pixels (width x height)",
      f"File bytes: {len(data)}",
      f"Bits per pixel (whole file): {len(data) * 8 / (96 * 64):.4f}",
      f"Payload bytes: {payload} in 1 coded string(s) (the container adds "
      f"{len(data) - payload} bytes)"]


def test_info_says_when_the_weights_differ(tmp_path):
  parsed = container.unpack((GOLDEN / "balle17_lambda0.01.tfci").read_bytes())
  parsed.weights_crc32 = 0x12345678
  (tmp_path / "other.tfci").write_bytes(container.pack(parsed))
  result = run_tfcs("info", tmp_path / "other.tfci")
  shipped = checkpoint.load(str(REPO_ROOT / "checkpoints" / "balle17" /
                                "lambda0.01"))
  assert (f"Weights CRC32: 12345678 (differs from the shipped checkpoint "
          f"checkpoints/balle17/lambda0.01, {shipped.fingerprint:08x}: other "
          f"weights; decompress needs --model_path)") in result.stdout


def test_info_of_a_bad_file_is_one_line(tmp_path):
  (tmp_path / "cut.tfci").write_bytes(
      (GOLDEN / "balle17_lambda0.01.tfci").read_bytes()[:100])
  result = run_tfcs("info", tmp_path / "cut.tfci")
  assert result.returncode == 1 and result.stdout == ""
  assert result.stderr == ("tfcs: error: compressed file is truncated or "
                           "corrupted (checksum mismatch)\n")


# ------------------------------------------------------- compress, decompress


def test_decompress_takes_files_of_every_model(tmp_path):
  stems = ("balle17_lambda0.01", "balle18_lambda0.01", "jiang17_rgb")
  for stem in stems:
    shutil.copy(GOLDEN / f"{stem}.tfci", tmp_path)
  result = run_tfcs("decompress", *(tmp_path / f"{s}.tfci" for s in stems))
  assert result.returncode == 0, result.stderr
  for stem in stems:
    np.testing.assert_array_equal(
        image_io.read_image(str(tmp_path / f"{stem}.tfci.png")),
        image_io.read_image(str(GOLDEN / f"{stem}.png")))


def test_compress_takes_the_model_and_its_options(tmp_path):
  source = GOLDEN / "astronaut_64x96.png"
  result = run_tfcs("compress", "--model", "jiang17", "--quality", "20",
                    source, tmp_path / "a.tfci")
  assert result.returncode == 0, result.stderr
  parsed = container.unpack((tmp_path / "a.tfci").read_bytes())
  assert (parsed.model, parsed.checkpoint, parsed.integers) == (
      "jiang17", "rgb", [20])
