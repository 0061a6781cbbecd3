"""The evaluation point behind a recorded result, to code an image again.

A results file records each point's setting: a codec's quality (or
compression ratio), or a checkpoint's label, configuration, compress options
and (in newer runs) model and weights fingerprint. `point_for` rebuilds the
`evaluation.CodecPoint` or `evaluation.CheckpointPoint` that made it, with the
run's thread count, so that its cache entries and kept files are found
again. A model point whose weights are neither in checkpoints/ (shipped or
retired) nor archived has no point: None. Archived weights
(`tfcsuite.archive`) are matched by their recorded name, configuration and
fingerprint, and restored only for the point that matches.
"""

import functools
import sys

from tfcsuite import UserError, archive, checkpoint as checkpoint_lib
from tfcsuite import zoo
from tfcsuite.harness import classical, evaluation, shipped_results


@functools.lru_cache(maxsize=None)
def _loaded(path):
  return checkpoint_lib.load(path)


def _candidates(model):
  """(checkpoint to match, archived entry or None): shipped checkpoints
  first, then retired ones (earlier weights), then archived ones
  (weightless placeholders)."""
  for folder in zoo.shipped_checkpoints(model) + zoo.retired_versions(
      model, "*"):
    yield _loaded(folder), None
  for entry in archive.entries(model):
    yield archive.placeholder(model, entry), entry


def _restored(model, entry):
  """The loaded archived checkpoint, or None (with a warning) if no source
  has it."""
  try:
    return _loaded(archive.restore(model, entry))
  except UserError as error:
    print(f"warning: {error}", file=sys.stderr)
    return None


def _model_point(curve, index, threads):
  setting = curve.settings[index]
  model = setting.get("model", curve.name)
  if model not in zoo.MODEL_SCRIPTS:
    return None
  script = zoo.load_script(model)
  for loaded, entry in _candidates(model):
    for suffix, options in script.operating_points(loaded):
      labels = shipped_results.point_labels(loaded, suffix)
      if shipped_results.match_verdict(setting, curve.name, script, loaded,
                                       labels, options) is None:
        continue
      weights = _restored(model, entry) if entry else loaded
      if weights is None:
        return None
      return evaluation.CheckpointPoint(
          script, weights, curve.points[index], threads, options,
          curve=curve.name)
  return None


def point_for(curve, index, threads):
  """The point of `curve` (a `CurveResult` read from a results file) at
  `index`, measured with `threads` threads; None if it cannot be rebuilt."""
  if curve.spec.kind == "codec":
    codec = classical.CODECS.get(curve.name)
    if codec is None:
      return None
    return evaluation.CodecPoint(
        codec, curve.settings[index][codec.parameter], threads)
  return _model_point(curve, index, threads)
