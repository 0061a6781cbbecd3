"""The registry of model scripts: adding a model is one line here.

The benchmark harness and the tests find models and their shipped checkpoints
through this module and know nothing model-specific.
"""

import importlib.util
import os
import pathlib
import sys

from tfcsuite import UserError

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent
CHECKPOINTS = REPO_ROOT / "checkpoints"

MODEL_SCRIPTS = {
    "balle17": "models/balle17.py",
    "balle18": "models/balle18.py",
    "jiang17": "models/jiang17.py",
}


def load_script(name):
  """The `cli.ModelScript` of a registered model (imports its script once)."""
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
