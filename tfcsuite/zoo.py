"""The registry of model scripts: adding a model is one line here.

A model script (models/<name>.py) describes itself with a `ModelScript` named
`SCRIPT`; the CLI, the trainer, the benchmark harness and the tests find
models, their shipped checkpoints and the repository's folders through this
module and know nothing model-specific.
"""

import dataclasses
import glob
import importlib.util
import json
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
    "li18": "models/li18.py",
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
    full_training: the paper's (or its reference code's) training budget as
      `train` flags, with "epochs" and "steps_per_epoch", used by `tfcs
      retrain --full`; None if none is published.
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
  full_training: dict = None

  def default_checkpoint_path(self):
    return shipped_folder(self.name, self.default_checkpoint)

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


SHIPPED_INDEX = "shipped.json"


def _has_checkpoint(folder):
  return os.path.isfile(os.path.join(folder, "manifest.json"))


def _shipped_index(name, root=None):
  """{checkpoint name: folder} of a model's shipped set, or None (legacy).

  `checkpoints/<model>/shipped.json` maps each shipped name to its folder
  relative to `checkpoints/<model>/`. New checkpoints are added as a release
  (`releases/<date>/<name>/`) listed there, so nothing committed is ever
  moved or rewritten; a replaced checkpoint is unlisted (and archived by
  `tfcsuite.release`, see `tfcsuite.archive`).
  Without the index, the shipped set is every `checkpoints/<model>/<name>/`.
  """
  root = root or CHECKPOINTS
  path = os.path.join(root, name, SHIPPED_INDEX)
  if not os.path.isfile(path):
    return None
  with open(path) as f:
    index = json.load(f)
  return {checkpoint: os.path.join(root, name, folder)
          for checkpoint, folder in index.items()}


def shipped_folder(name, checkpoint_name):
  """The folder of the shipped checkpoint `checkpoint_name` of a model."""
  index = _shipped_index(name)
  if index is not None:
    return index.get(checkpoint_name,
                     os.path.join(CHECKPOINTS, name, checkpoint_name))
  return os.path.join(CHECKPOINTS, name, checkpoint_name)


def shipped_checkpoints(name, root=None):
  """Sorted folders of a model's shipped checkpoints under `root` (default
  checkpoints/; see `_shipped_index`)."""
  root = root or CHECKPOINTS
  index = _shipped_index(name, root)
  if index is not None:
    return sorted(folder for folder in index.values()
                  if _has_checkpoint(folder))
  folder = os.path.join(root, name)
  if not os.path.isdir(folder):
    return []
  return sorted(
      os.path.join(folder, entry) for entry in os.listdir(folder)
      if _has_checkpoint(os.path.join(folder, entry)))


def retired_checkpoint_folder(name, checkpoint_name, fingerprint):
  """Where an early replaced checkpoint was moved, so that files made with it
  stay decodable: checkpoints/<model>/retired/<crc32, 8 hex digits>/<name>
  (the folder's name is the checkpoint's name, which files record). Later
  replacements were kept in place (see `_shipped_index`); both kinds are
  archived now (`tfcsuite.archive`)."""
  return os.path.join(CHECKPOINTS, name, "retired", f"{fingerprint:08x}",
                      checkpoint_name)


def _versions(name, checkpoint_name):
  """Every folder of a model holding a checkpoint called `checkpoint_name`."""
  root = os.path.join(CHECKPOINTS, name)
  patterns = [checkpoint_name, os.path.join("retired", "*", checkpoint_name),
              os.path.join("releases", "*", checkpoint_name)]
  return sorted(folder for pattern in patterns
                for folder in glob.glob(os.path.join(root, pattern))
                if _has_checkpoint(folder))


def retired_versions(name, checkpoint_name):
  """Folders of the earlier weights of a shipped checkpoint, if retrained
  (those still in the tree; see `has_replaced_versions`)."""
  shipped = os.path.normpath(shipped_folder(name, checkpoint_name))
  return [folder for folder in _versions(name, checkpoint_name)
          if os.path.normpath(folder) != shipped]


def has_replaced_versions(name, checkpoint_name):
  """Whether earlier weights of that name exist, in the tree or archived
  (`tfcsuite.archive`)."""
  from tfcsuite import archive
  return bool(retired_versions(name, checkpoint_name) or any(
      entry["checkpoint"] == checkpoint_name
      for entry in archive.entries(name)))


def locate_file_checkpoint(name, checkpoint_name, fingerprint):
  """(folder in the tree, archived entry) of the checkpoint a compressed
  file was made with, nothing restored: the retired or in-place version
  with the file's fingerprint, else its archived entry (`tfcsuite.archive`),
  else the shipped checkpoint of that name; (None, None) if none exists (the
  fingerprint itself is checked when the checkpoint is loaded)."""
  from tfcsuite import archive, checkpoint
  retired = retired_checkpoint_folder(name, checkpoint_name, fingerprint)
  if os.path.isdir(retired):
    return retired, None
  current = shipped_folder(name, checkpoint_name)
  in_place = [folder for folder in [current] + retired_versions(
      name, checkpoint_name) if _has_checkpoint(folder) and
              "retired" not in os.path.relpath(folder, CHECKPOINTS).split(
                  os.sep)]
  archived = archive.find(name, checkpoint_name, fingerprint)
  # Only replaced checkpoints (kept in place or archived) need the weights
  # read here (`checkpoint.load` reads them anyway).
  for folder in in_place if len(in_place) > 1 or archived else []:
    if checkpoint.fingerprint_of(folder) == fingerprint:
      return folder, None
  if archived:
    return None, archived
  return (current if os.path.isdir(current) else None), None


def checkpoint_folder_for_file(name, checkpoint_name, fingerprint):
  """The checkpoint folder a compressed file was made with (see
  `locate_file_checkpoint`), an archived one restored into the cache; None
  if none exists. A `UserError` if an archived one cannot be restored."""
  folder, archived = locate_file_checkpoint(name, checkpoint_name,
                                            fingerprint)
  if archived:
    from tfcsuite import archive
    return archive.restore(name, archived)
  return folder
