"""The committed Kodak means of each shipped checkpoint (for `tfcs models`).

A model's committed harness runs are benchmarks/results/kodak.json and
benchmarks/results/<model>/kodak.json. A point of such a run belongs to an
operating point of a checkpoint when the run covers all 24 Kodak images and
the point's setting holds the checkpoint's label (its name, plus the
operating point's suffix, e.g. "rgb-q5"), configuration and compress
options, and, in runs that record them, its model and weights fingerprint.
Runs made before fingerprints were recorded are matched by label,
configuration and options alone (`KodakMean.fingerprint_checked` is False).
The newest matching run wins; an operating point without one has no number.
"""

import dataclasses
import json
import os

from tfcsuite import zoo
from tfcsuite.harness import results_files

RESULTS = zoo.REPO_ROOT / "benchmarks" / "results"
# Setting keys that identify the weights; the others are compress options.
_IDENTITY = ("checkpoint", "config", "model", "weights_crc32")


@dataclasses.dataclass(frozen=True)
class KodakMean:
  bpp: float
  psnr: float
  source: str  # The results file, relative to the repository.
  date: str    # "YYYY-MM-DD HH:MM UTC", as the harness records it.
  fingerprint_checked: bool


def result_files(model, results=RESULTS):
  """The committed harness results that may hold `model`'s checkpoints."""
  return [path for path in (os.path.join(results, "kodak.json"),
                            os.path.join(results, model, "kodak.json"))
          if os.path.isfile(path)]


def _complete_points(paths):
  """(KodakMean without a verdict, curve name, setting) of every point of
  every complete harness run in `paths`."""
  for path in paths:
    try:
      with open(path) as f:
        run = json.load(f)
    except (OSError, ValueError):
      continue
    metadata = run.get("metadata") or {}
    if run.get("generator") != results_files.GENERATOR or not metadata.get(
        "complete"):
      continue
    source = os.path.relpath(path, zoo.REPO_ROOT)
    for curve in run.get("curves", []):
      if curve.get("kind") != "model":
        continue
      results = curve["results"]
      for index, setting in enumerate(curve["settings"]):
        mean = KodakMean(results["bpp"][index], results["psnr-rgb"][index],
                         source, metadata["date"], False)
        yield mean, curve["name"], setting


def point_labels(checkpoint, suffix):
  """The labels the harness gives an operating point of `checkpoint`: its
  name (plus the suffix), or with its fingerprint when names collide."""
  return [f"{name}-{suffix}" if suffix else name for name in
          (checkpoint.name,
           f"{checkpoint.name}-{checkpoint.fingerprint:08x}")]


def match_verdict(setting, curve_name, script, checkpoint, labels, options):
  """Whether a recorded point's setting is this operating point: None if
  not, else whether its weights fingerprint was checked."""
  fingerprint = f"{checkpoint.fingerprint:08x}"
  recorded = setting.get("weights_crc32")
  if recorded is None and zoo.has_replaced_versions(script.name,
                                                   checkpoint.name):
    return None  # Retrained since: a result without a fingerprint may be
    # of the earlier weights.
  if (setting.get("model", curve_name) != script.name or
      recorded not in (None, fingerprint) or
      setting.get("checkpoint") not in labels or
      setting.get("config") != checkpoint.config or
      {k: v for k, v in setting.items() if k not in _IDENTITY} != options):
    return None
  return recorded is not None or setting["checkpoint"] == labels[1]


@dataclasses.dataclass(frozen=True)
class OperatingPoint:
  label: str         # As the harness labels it, e.g. "rgb-q5".
  options: dict      # Its compress options, e.g. {"quality": 5}.
  kodak: KodakMean   # None: no committed measurement.


def kodak_means(script, checkpoint, paths=None):
  """An `OperatingPoint` per operating point of a checkpoint.

  Args:
    script: the model's `ModelScript`.
    checkpoint: a loaded `tfcsuite.checkpoint.Checkpoint`.
    paths: the results files to search (default: `result_files`).
  """
  points = list(_complete_points(
      result_files(script.name) if paths is None else paths))
  means = []
  for suffix, options in script.operating_points(checkpoint):
    labels = point_labels(checkpoint, suffix)
    best = None
    for mean, curve_name, setting in points:
      checked = match_verdict(setting, curve_name, script, checkpoint, labels,
                         options)
      if (checked is not None and None not in (mean.bpp, mean.psnr) and
          (best is None or mean.date > best.date)):
        best = dataclasses.replace(mean, fingerprint_checked=checked)
    means.append(OperatingPoint(labels[0], options, best))
  return means
