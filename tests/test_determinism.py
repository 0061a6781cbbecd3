"""Every registered model codes deterministically (issue 19): compressing
twice gives the same bytes, and a fresh process with 1 TensorFlow thread
gives the same file and the same decoded pixels as this process (all
cores). A bounded sample (a crop of one image) of benchmarks/determinism.py,
which runs all of Kodak with 1 and 2 threads in two fresh processes."""

import argparse

from conftest import benchmark_script
from tfcsuite import zoo

# The models/ scripts, as registered when the tests are collected (a test
# may register a model of its own in this process only).
MODELS = sorted(zoo.MODEL_SCRIPTS)


def _benchmark():
  return benchmark_script("determinism")


def test_same_bytes_and_pixels_in_a_fresh_1_thread_process(kodak_dir):
  benchmark = _benchmark()
  models = MODELS
  args = argparse.Namespace(data_dir=str(kodak_dir), images=["kodim23.png"],
                            crop="48x80")
  child = benchmark.child_hashes(models, 1, args)
  here = benchmark.hashes(models, args.images, args.data_dir, args.crop)
  assert sorted(child) == sorted(here) == [f"{m}/kodim23.png" for m in models]
  assert benchmark.mismatches(child, here) == []
