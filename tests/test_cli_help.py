"""Help texts and usage errors of the command lines: complete and honest."""

import argparse
import subprocess

import pytest

from conftest import PYTHON, REPO_ROOT

from tfcsuite import cli, zoo


def subcommand(script, name):
  parser = cli.build_parser(script)
  actions = [a for a in parser._actions  # pylint: disable=protected-access
             if isinstance(a, argparse._SubParsersAction)]  # pylint: disable=protected-access
  return actions[0].choices[name]


@pytest.mark.parametrize("model", sorted(zoo.MODEL_SCRIPTS))
def test_every_train_flag_has_help(model):
  train = subcommand(zoo.load_script(model), "train")
  missing = [a.option_strings[0] for a in train._actions  # pylint: disable=protected-access
             if a.option_strings and not a.help]
  assert missing == []


@pytest.mark.parametrize("model", sorted(zoo.MODEL_SCRIPTS))
def test_train_help_states_no_measured_numbers(model):
  text = subcommand(zoo.load_script(model), "train").format_help()
  for claim in ("minutes", "11.7", "2.34", "1.5x", "1,600"):
    assert claim not in text


def test_rdft_flag_only_for_models_with_rdft_kernels():
  def flags(model):
    return subcommand(zoo.load_script(model), "train").format_help()
  assert "--rdft_kernels" in flags("balle17")
  assert "--rdft_kernels" not in flags("jiang17")


def test_lambda_flag_is_shown_as_lambda():
  help_text = subcommand(zoo.load_script("balle17"), "train").format_help()
  assert "--lambda LAMBDA" in help_text


def test_kodak_download_help_creates_no_folder(tmp_path):
  result = subprocess.run([PYTHON, "-m", "tfcsuite.datasets.kodak", "--help"],
                          cwd=tmp_path, capture_output=True, text=True,
                          timeout=120)
  assert result.returncode == 0
  assert result.stdout.startswith("usage: python -m tfcsuite.datasets.kodak")
  assert list(tmp_path.iterdir()) == []


def test_speed_benchmark_rejects_an_unknown_part():
  result = subprocess.run(
      [PYTHON, str(REPO_ROOT / "benchmarks" / "speed.py"), "--parts", "foo"],
      capture_output=True, text=True, timeout=120)
  assert result.returncode == 2
  assert result.stderr.strip().splitlines()[-1] == (
      "speed.py: error: --parts: unknown part 'foo' (train, codec)")
