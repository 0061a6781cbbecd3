"""The harness's `--checkpoint MODEL:NAME=PATH`: a checkpoint on a curve of
its own (e.g. a retrained model next to the shipped one), with a syntax that
paths holding ':' or '=' cannot confuse."""

import json

import pytest

from conftest import REPO_ROOT

from tfcsuite import UserError, checkpoint
from tfcsuite.harness import kodak_cli
from tfcsuite.harness.curve_selection import parse_checkpoint_flag

SHIPPED = REPO_ROOT / "checkpoints" / "balle17"


@pytest.mark.parametrize("entry, expected", [
    ("balle17=runs/a", ("balle17", None, "runs/a")),
    ("balle17=/tmp/x:y=z", ("balle17", None, "/tmp/x:y=z")),
    ("balle17:mine=/tmp/x:y=z", ("balle17", "mine", "/tmp/x:y=z")),
    ("balle17:v2.1_b-c=c:\\ckpt", ("balle17", "v2.1_b-c", "c:\\ckpt")),
    ("balle17:balle17=runs/a", ("balle17", None, "runs/a")),
])
def test_path_is_everything_after_the_first_equals_sign(entry, expected):
  assert parse_checkpoint_flag(entry) == expected


@pytest.mark.parametrize("entry, message", [
    ("balle17", "expected MODEL=PATH or MODEL:NAME=PATH"),
    ("balle17:=runs/a", "expected MODEL=PATH or MODEL:NAME=PATH"),
    (":mine=runs/a", "expected MODEL=PATH or MODEL:NAME=PATH"),
    ("balle17:my/curve=runs/a", "a curve name is letters, digits"),
    ("balle17:.hidden=runs/a", "a curve name is letters, digits"),
])
def test_malformed_checkpoint_flag_is_a_user_error(entry, message):
  with pytest.raises(UserError, match=message):
    parse_checkpoint_flag(entry)


def _run(kodak_dir, out, *flags):
  return kodak_cli.main([
      "--models", "none", "--codecs", "none", "--images", "kodim23.png",
      "--data_dir", str(kodak_dir), "--out", str(out), "--quiet", *flags])


def test_named_checkpoints_make_a_curve_of_their_own(kodak_dir, tmp_path):
  assert _run(kodak_dir, tmp_path,
              "--checkpoint", f"balle17:mine={SHIPPED / 'lambda0.02'}",
              "--checkpoint", f"balle17:mine={SHIPPED / 'lambda0.002'}") == 0
  curve = json.loads((tmp_path / "curves" / "mine.json").read_text())
  assert curve["name"] == "mine" and curve["kind"] == "model"
  assert curve["points"] == ["lambda0.002", "lambda0.02"]  # By rate.
  assert [(s["model"], s["weights_crc32"]) for s in curve["settings"]] == [
      ("balle17", f"{checkpoint.load(str(SHIPPED / name)).fingerprint:08x}")
      for name in ("lambda0.002", "lambda0.02")]
  assert curve["published_curve"] == "balle-2017-iclr-opt-mse"
  assert not (tmp_path / "curves" / "balle17.json").exists()


@pytest.mark.parametrize("name, message", [
    ("balle18", "curve name 'balle18' is already a model or codec"),
    ("jpeg420", "curve name 'jpeg420' is already a model or codec"),
])
def test_curve_name_of_a_model_or_codec_is_refused(name, message, kodak_dir,
                                                   tmp_path, capsys):
  assert _run(kodak_dir, tmp_path, "--checkpoint",
              f"balle17:{name}={SHIPPED / 'lambda0.01'}") == 1
  error = capsys.readouterr().err
  assert error.count("\n") == 1 and message in error


def test_one_curve_name_for_two_models_is_refused(kodak_dir, tmp_path,
                                                  capsys):
  assert _run(kodak_dir, tmp_path,
              "--checkpoint", f"balle17:mine={SHIPPED / 'lambda0.01'}",
              "--checkpoint", "balle18:mine=checkpoints/balle18/lambda0.01"
              ) == 1
  assert "curve 'mine' already holds checkpoints of model 'balle17'" in (
      capsys.readouterr().err)


def test_a_model_left_without_checkpoints_says_how_to_measure_named_curves(
    kodak_dir, tmp_path, capsys):
  assert kodak_cli.main([
      "--models", "balle17", "--no_shipped_checkpoints", "--codecs", "none",
      "--checkpoint", f"balle17:mine={SHIPPED / 'lambda0.01'}",
      "--data_dir", str(kodak_dir), "--out", str(tmp_path), "--quiet"]) == 1
  error = capsys.readouterr().err
  assert error.count("\n") == 1
  assert "--no_shipped_checkpoints leaves it none" in error
  assert "--models none to measure named curves alone" in error
