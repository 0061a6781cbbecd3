"""`train`'s optimizer flags: Adam's epsilon/beta_2, gradient clipping and a
moving average of the weights that the checkpoint exports (issue 20)."""

import json
import shutil

import numpy as np
import pytest
import tensorflow as tf

from conftest import REPO_ROOT
from tfcsuite import UserError, checkpoint, cli, optimization, training, zoo

TOY = REPO_ROOT / "tests" / "toy_binary_autoencoder.py"


def _toy():
  zoo.register("toy_binary", TOY)
  return zoo.load_script("toy_binary")


def _train(script, folder, train_dir, *flags):
  command = [str(TOY), "--model_path", str(folder / "toy"), "train",
             "--train_glob", str(train_dir / "10*.jpg"), "--epochs", "2",
             "--steps_per_epoch", "3", "--batchsize", "2", "--patchsize", "32",
             "--max_validation_steps", "1", "--train_path",
             str(folder / "run"), "--seed", "1", *flags]
  training.train(script, cli.parse_args(script, command))
  return checkpoint.load(str(folder / "toy"))


def _backed_up_weights(script, folder):
  """The raw (not averaged) weights of the run's last backup."""
  model = script.training_model(script.config())
  backup = tf.train.latest_checkpoint(str(folder / "run" / "backup" /
                                          "chief"))
  tf.train.Checkpoint(model=model).restore(backup).expect_partial()
  return model.export_weights()


def test_defaults_build_keras_default_adam():
  script = _toy()
  args = cli.parse_args(script, [str(TOY), "train"])
  adam = optimization.options(args).adam(1e-3)
  assert adam.get_config() == tf.keras.optimizers.Adam(1e-3).get_config()


def test_flags_reach_every_adam_of_the_model():
  script = _toy()
  args = cli.parse_args(script, [
      str(TOY), "train", "--adam_epsilon", "1e-3", "--adam_beta2", "0.99",
      "--global_clipnorm", "1", "--ema_momentum", "0.9"])
  model = script.training_model(script.config())
  model.prepare_training(1e-3, optimization.options(args))
  config = model.optimizer.get_config()
  assert (config["epsilon"], config["beta_2"], config["global_clipnorm"],
          config["use_ema"], config["ema_momentum"]) == (1e-3, .99, 1., True,
                                                         .9)


@pytest.mark.parametrize("flag, value", [("--ema_momentum", "1"),
                                         ("--adam_epsilon", "0"),
                                         ("--adam_beta2", "-0.1"),
                                         ("--global_clipnorm", "x")])
def test_out_of_range_value_is_a_usage_error(flag, value, capsys):
  script = _toy()
  with pytest.raises(SystemExit) as exit_info:
    cli.parse_args(script, [str(TOY), "train", flag, value])
  assert exit_info.value.code == 2
  assert f"argument {flag}" in capsys.readouterr().err


def test_averaging_exports_the_averages_and_a_finished_run_reexports_them(
    tmp_path, train_dir):
  script = _toy()
  averaged = _train(script, tmp_path, train_dir, "--ema_momentum", "0.5")
  raw = _backed_up_weights(script, tmp_path)
  kernel = "encoder/kernel"  # A trainable weight of the toy.
  assert not np.allclose(averaged.weights[kernel], raw[kernel])
  manifest = averaged.manifest["provenance"]["hyperparameters"]
  assert manifest["ema_momentum"] == .5
  # The same command once the run is complete, its checkpoint deleted:
  # exported again from the backup's averages, identical.
  shutil.rmtree(tmp_path / "toy")
  again = _train(script, tmp_path, train_dir, "--ema_momentum", "0.5")
  for name, value in averaged.weights.items():
    np.testing.assert_array_equal(again.weights[name], value, err_msg=name)
  # Resuming without averaging would misread the optimizer's state.
  with pytest.raises(UserError, match="started with --ema_momentum"):
    _train(script, tmp_path, train_dir, "--epochs", "3")


def test_averaging_needs_a_model_with_one_optimizer():
  class TwoOptimizers(_toy().training_model(_toy().config()).__class__):
    def create_optimizers(self, learning_rate):
      return dict(optimizer=self.adam(learning_rate),
                  second_optimizer=self.adam(learning_rate))
  model = TwoOptimizers(_toy().config())
  with pytest.raises(UserError, match="one optimizer"):
    model.prepare_training(1e-3, optimization.OptimizerOptions(
        ema_momentum=.9))
