"""Decoders of every registered model against hostile files (issue 19).

A bounded sample of `tfcsuite.harness.fuzz`'s mutations per model (the long
run is benchmarks/fuzz.py), crafted headers, and the regression corpus of
files the long runs found (tests/fuzz_corpus/), replayed through the CLI.
"""

import argparse
import os
import pathlib
import random
import statistics
import subprocess

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import PYTHON, REPO_ROOT, default_coding_model, benchmark_script
from tfcsuite import UserError, coding, container, zoo
from tfcsuite.harness import fuzz

KODAK = os.environ.get("TFCS_KODAK_DIR", os.path.join(
    os.path.dirname(__file__), "..", "..", "shared", "data", "kodak"))
CORPUS = pathlib.Path(__file__).parent / "fuzz_corpus"
MODELS = sorted(zoo.MODEL_SCRIPTS)


@pytest.fixture(scope="module")
def valid_files(coding_models):
  """Each model's file of a 64x96 crop, and its layout, made once."""
  from tfcsuite import image_io
  image = image_io.read_image(os.path.join(KODAK, "kodim23.png"))[:64, :96]
  return {name: fuzz.valid_file(name, image, coding_models)
          for name in MODELS}


@pytest.mark.parametrize("name", MODELS)
def test_mutated_files_decode_or_are_refused_in_one_line(name, valid_files,
                                                         coding_models):
  data, layout = valid_files[name]

  @settings(max_examples=8, deadline=None, database=None,
            suppress_health_check=list(HealthCheck))
  @given(seed=st.integers(0, 2 ** 32 - 1), kind=st.sampled_from(fuzz.MUTATIONS))
  def mutated_file(seed, kind):
    _, mutated = fuzz.mutate(data, random.Random(seed), layout, kind)
    # Raises on a contract violation.
    fuzz.check(mutated, coding_models, fuzz.QUICK_MAX_PIXELS)

  mutated_file()


@pytest.mark.parametrize("name", MODELS)
def test_crafted_sizes_pass_every_container_check(name, valid_files):
  """They reach the model's decoder (and its range decoder), whatever the
  size; strided shape fields are made to fit it."""
  data, layout = valid_files[name]
  for seed in range(20):
    _, crafted = fuzz.mutate(data, random.Random(seed), layout, "crafted_size")
    coding.check_shapes(layout, container.unpack(crafted))


def test_crafted_sides_span_1_to_512_small_ones_as_likely_as_large():
  rng = random.Random(0)
  sides = [fuzz._crafted_side(rng) for _ in range(4000)]  # pylint: disable=protected-access
  assert min(sides) == 1 and 400 < max(sides) <= 512
  assert 16 < statistics.median(sides) < 32  # Log-uniform: 2^4.5 = 22.6.


def test_a_fuzzing_process_that_dies_leaves_a_violation_and_its_case(tmp_path):
  """benchmarks/fuzz.py saves each case before decoding it, so a crash of
  the decoder's process is counted and kept in the corpus."""
  benchmark = benchmark_script("fuzz")
  (tmp_path / "case").write_text("17 payload_flip")
  (tmp_path / "case.tfci").write_bytes(b"TFCI crash")
  args = argparse.Namespace(corpus=str(tmp_path / "corpus"), seed=3)
  report = benchmark._crashed("npeg", args, str(tmp_path), -11)  # pylint: disable=protected-access
  assert (tmp_path / "corpus" / "npeg-payload_flip-3-17.tfci").read_bytes() == (
      b"TFCI crash")
  assert report["next"] == 18
  assert report["counts"] == {"payload_flip": {"violation": 1}}
  assert report["failures"] == [dict(case=17, kind="payload_flip", error=(
      "the process died (exit status -11)"))]


def _crafted(data, height, width, latent_shape):
  parsed = container.unpack(data)
  parsed.height, parsed.width, parsed.integers = height, width, latent_shape
  return container.pack(parsed)


def test_valid_crc_file_declaring_a_huge_image_is_refused_before_decoding(
    valid_files, coding_models):
  """Issue 19's measurement: 60000x60000 with a matching latent shape made
  decompress run 72 s and reach 7.5 GB before a traceback."""
  crafted = _crafted(valid_files["balle17"][0], 60000, 60000, [3750, 3750])
  with pytest.raises(UserError, match="more than the limit of 89,478,485"):
    fuzz_free_decode(crafted, coding_models)


def test_latent_shape_that_does_not_fit_the_image_is_refused(valid_files,
                                                             coding_models):
  crafted = _crafted(valid_files["balle17"][0], 64, 96, [400, 400])
  with pytest.raises(UserError, match=r"latent shape \(400, 400\) does not "
                                      r"fit a 96x64 image"):
    fuzz_free_decode(crafted, coding_models)


def test_pixel_limit_is_a_flag(valid_files, coding_models):
  parsed = container.unpack(valid_files["balle17"][0])
  _, model = default_coding_model(coding_models, "balle17")
  with pytest.raises(UserError, match="--max_pixels"):
    coding.decode(model, parsed, max_pixels=64 * 96 - 1)
  assert coding.decode(model, parsed, max_pixels=64 * 96).shape == (64, 96, 3)


def fuzz_free_decode(data, models):
  from tfcsuite import coding_commands
  return coding_commands.decoded_image(data, models)


def test_regression_corpus_is_refused_by_the_cli_in_one_line_each(tmp_path):
  files = sorted(CORPUS.glob("*.tfci"))
  assert files, "the corpus holds the cases the fuzzer found"
  # The corpus also holds a file declaring a large image, which vaegan
  # decodes slowly but validly.
  result = subprocess.run(
      [PYTHON, "-m", "tfcsuite.suite", "decompress", "--max_pixels",
       str(fuzz.QUICK_MAX_PIXELS), "--output_dir", str(tmp_path),
       *map(str, files)],
      cwd=REPO_ROOT, capture_output=True,
      text=True, timeout=300,
      # Hung files are refused after 1 s instead of 10 (nothing valid here).
      env=dict(os.environ, TFCS_RANGE_DECODING_DEADLINE="1"))
  lines = result.stderr.strip().splitlines()
  assert result.returncode == 1
  assert len(lines) == len(files), result.stderr
  assert all(line.startswith("tfcs: error: ") and "{{" not in line
             for line in lines)
  assert not list(tmp_path.iterdir())  # No output, not even a partial one.
