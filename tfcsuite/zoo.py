"""The registry of model scripts: adding a model is one line here.

A model script (models/<name>.py) describes itself with a `ModelScript` named
`SCRIPT`; the CLI, the trainer, the benchmark harness and the tests find
models, their shipped checkpoints and the repository's folders through this
module and know nothing model-specific.
"""

import dataclasses
import glob
import importlib.util
import os
import pathlib
import sys
from typing import Callable

from tfcsuite import UserError

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
CHECKPOINTS = REPO_ROOT / "checkpoints"

MODEL_SCRIPTS = {
    "balle17": "models/balle17.py",
    "balle18": "models/balle18.py",
    "jiang17": "models/jiang17.py",
    "npeg": "models/npeg.py",
    "vaegan": "models/vaegan.py",
}


def _single_point(checkpoint):
  del checkpoint
  return [("", {})]


@dataclasses.dataclass
class ModelScript:
  """What a model script tells the shared CLI, trainer and harness.

  Attributes:
    name: short name, also the folder under checkpoints/ (e.g. "balle17").
    description: one line for --help.
    model: the model class, called as `model(config)` for training (a
      `tfcsuite.trainable.TrainableModel`) and `model(config, weights)` for
      coding (a `tfcsuite.coding.CodingModel`) with a checkpoint's arrays.
    config: the configuration dataclass (`tfcsuite.config.ModelConfig`);
      its fields are the model's `train` flags and the manifest's "config".
    default_checkpoint: checkpoint folder used when --model_path is unset.
    published_curve: the paper's published Kodak curve in TFC's results
      layout (e.g. "balle-2017-iclr-opt-mse"), or None.
    compress_options: a dataclass of compress-time options (e.g. a codec
      quality), whose fields become `compress` flags and keyword arguments
      of the model's `compress`; None if it has none.
    operating_points: checkpoint -> [(label suffix, compress options)], the
      points of the rate-distortion curve the harness measures with it.
    training_defaults: the model's own defaults of shared `train` flags
      (e.g. a smaller --patchsize).
    training_features: optional shared training flags the model uses:
      "rdft_kernels" for models with TFC's RDFT-parameterized kernels.
  """
  name: str
  description: str
  model: type
  config: type
  default_checkpoint: str
  published_curve: str = None
  compress_options: type = None
  operating_points: Callable = _single_point
  training_defaults: dict = dataclasses.field(default_factory=dict)
  training_features: tuple = ()

  def default_checkpoint_path(self):
    return str(CHECKPOINTS / self.name / self.default_checkpoint)

  def checkpoint_config(self, checkpoint):
    from tfcsuite import config
    return config.from_dict(self.config, checkpoint.config,
                            where=f"checkpoint {checkpoint.path!r}")

  def training_model(self, config):
    """A trainable model of `config` (a config object or a manifest dict)."""
    if isinstance(config, dict):
      from tfcsuite import config as config_lib
      config = config_lib.from_dict(self.config, config)
    return self.model(config)

  def coding_model(self, checkpoint):
    """The model that codes with a loaded checkpoint."""
    return self.model(self.checkpoint_config(checkpoint),
                      weights=checkpoint.weights)


def register(name, script_path):
  """Registers a model script outside models/ (e.g. a user's, or a test's)."""
  MODEL_SCRIPTS[name] = str(script_path)


def load_script(name):
  """The `ModelScript` of a registered model (imports its script once)."""
  if name not in MODEL_SCRIPTS:
    raise UserError(f"unknown model {name!r}; registered: "
                    f"{', '.join(sorted(MODEL_SCRIPTS))}")
  module_name = f"tfcsuite_models_{name}"
  if module_name not in sys.modules:
    path = os.path.join(REPO_ROOT, MODEL_SCRIPTS[name])
    spec = importlib.util.spec_from_file_location(module_name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
  return sys.modules[module_name].SCRIPT


def shipped_checkpoints(name):
  """Sorted folders under checkpoints/<name>/ that hold a checkpoint."""
  folder = os.path.join(CHECKPOINTS, name)
  if not os.path.isdir(folder):
    return []
  return sorted(
      os.path.join(folder, entry) for entry in os.listdir(folder)
      if os.path.isfile(os.path.join(folder, entry, "manifest.json")))


def retired_checkpoint_folder(name, checkpoint_name, fingerprint):
  """Where a replaced shipped checkpoint is kept, so that files made with it
  stay decodable: checkpoints/<model>/retired/<crc32, 8 hex digits>/<name>
  (the folder's name is the checkpoint's name, which files record)."""
  return os.path.join(CHECKPOINTS, name, "retired", f"{fingerprint:08x}",
                      checkpoint_name)


def retired_versions(name, checkpoint_name):
  """Folders of the earlier weights of a shipped checkpoint, if retrained."""
  pattern = os.path.join(CHECKPOINTS, name, "retired", "*", checkpoint_name)
  return sorted(glob.glob(pattern))


def checkpoint_folder_for_file(name, checkpoint_name, fingerprint):
  """The shipped checkpoint a compressed file was made with.

  `checkpoints/<model>/<name>/`, or, if that was retrained since, its
  retired version with the file's weights fingerprint; None if neither
  exists (the fingerprint itself is checked when the checkpoint is loaded).
  """
  current = os.path.join(CHECKPOINTS, name, checkpoint_name)
  retired = retired_checkpoint_folder(name, checkpoint_name, fingerprint)
  if os.path.isdir(retired):
    return retired
  return current if os.path.isdir(current) else None
