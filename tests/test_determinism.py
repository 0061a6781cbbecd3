"""Every registered model codes deterministically (issue 19): compressing
twice gives the same bytes, and a fresh process with 1 TensorFlow thread
gives the same file and the same decoded pixels as this process (all
cores). A bounded sample (a crop of one image) of benchmarks/determinism.py,
which runs all of Kodak with 1 and 2 threads in two fresh processes."""

import argparse
import json

from conftest import benchmark_script
from tfcsuite import zoo
from tfcsuite.harness import benchmark_runs

# The models/ scripts, as registered when the tests are collected (a test
# may register a model of its own in this process only).
MODELS = sorted(zoo.MODEL_SCRIPTS)


def test_same_bytes_and_pixels_in_a_fresh_1_thread_process(kodak_dir):
  benchmark = benchmark_script("determinism")
  models = MODELS
  args = argparse.Namespace(data_dir=str(kodak_dir), images=["kodim23.png"],
                            crop="48x80")
  child = benchmark.child_hashes(models, 1, args)
  here = benchmark.hashes(models, args.images, args.data_dir, args.crop)
  assert sorted(child) == sorted(here) == [f"{m}/kodim23.png" for m in models]
  assert benchmark.mismatches(child, here) == []


def test_results_of_other_models_are_kept_when_a_model_is_rerun(tmp_path):
  out = str(tmp_path / "determinism")
  with open(out + ".json", "w") as f:
    json.dump(dict(models=[dict(model="npeg", images=24),
                           dict(model="balle17", images=24)]), f)
  rows = benchmark_runs.merge_rows(out, [dict(model="balle17", images=3),
                                         dict(model="li18", images=24)])
  assert rows == [dict(model="balle17", images=3), dict(model="li18", images=24),
                  dict(model="npeg", images=24)]
