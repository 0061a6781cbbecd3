"""The curves a run measures: one `CurveSpec` per selected codec or model.

From the flags --codecs, --qualities (a codec's sweep), --models, --checkpoint
and --no_shipped_checkpoints; unknown names and bad values are `UserError`s.
`--checkpoint MODEL:NAME=PATH` puts a checkpoint on a curve of its own, NAME
(e.g. a retrained model next to the shipped one).
"""

import json
import re
import sys

from tfcsuite import UserError
from tfcsuite.harness import classical, evaluation
from tfcsuite.harness.curves import CurveSpec


def comma_separated(text):
  """The non-empty, stripped items of a comma-separated flag value."""
  return [item.strip() for item in text.split(",") if item.strip()]


def _selected(text, known, aliases, what):
  """Names from a comma list, or all/none; unknown names are a UserError."""
  if text.strip() == "all":
    return list(known)
  if text.strip() in ("none", ""):
    return []
  names = []
  for name in comma_separated(text):
    expanded = aliases.get(name, (name,))
    for item in expanded:
      if item not in known:
        raise UserError(f"unknown {what} {name!r}; choose from "
                        f"{', '.join(list(known) + list(aliases))}")
      if item not in names:
        names.append(item)
  return names


def _sweeps(codec_names, specs):
  """{codec: values} from the defaults and --qualities entries."""
  common, per_codec = None, {}
  for spec in specs:
    codec, _, values = spec.rpartition("=")
    if codec and codec not in classical.CODECS:
      raise UserError(f"--qualities {spec!r}: unknown codec {codec!r}")
    try:
      numbers = [float(v) for v in comma_separated(values)]
    except ValueError:
      raise UserError(f"--qualities {spec!r}: values must be numbers") from None
    if not numbers:
      raise UserError(f"--qualities {spec!r}: no values")
    if codec:
      per_codec[codec] = numbers
    else:
      common = numbers
  sweeps = {}
  for name in codec_names:
    codec = classical.CODECS[name]
    values = per_codec.get(name, common or codec.sweep)
    for value in values:
      if codec.parameter == "quality" and not (
          value == int(value) and 0 <= value <= 100):
        raise UserError(f"{name}: quality must be an integer 0..100, got "
                        f"{value:g}")
      if codec.parameter == "compression ratio" and not value > 1:
        raise UserError(f"{name}: compression ratio must exceed 1, got "
                        f"{value:g}")
    sweeps[name] = sorted(
        {int(v) if codec.parameter == "quality" else v for v in values})
  return sweeps


def codec_curves(args):
  """A `CurveSpec` per codec that --codecs selects, over its sweep."""
  names = _selected(args.codecs, classical.CODECS, classical.ALIASES, "codec")
  import PIL
  curves = []
  for name, values in _sweeps(names, args.qualities).items():
    codec = classical.CODECS[name]
    curves.append(CurveSpec(
        name=name, label=codec.label,
        description=(f"{codec.label} through Pillow {PIL.__version__} "
                     f"({codec.library_version()}); {codec.parameter} sweep; "
                     f"options {json.dumps(codec.options)}"),
        kind="codec", published_curve=codec.published_curve,
        points=[evaluation.CodecPoint(codec, value, args.threads)
                for value in values]))
  return curves


CURVE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*\Z")


def parse_checkpoint_flag(entry):
  """(model, curve name or None, path) of a --checkpoint MODEL[:NAME]=PATH.

  The path is everything after the first '=', so it may hold ':' and '='
  itself; model and curve names hold neither.
  """
  head, separator, path = entry.partition("=")
  model, colon, curve = head.partition(":")
  if not separator or not model or not path or (colon and not curve):
    raise UserError(f"--checkpoint {entry!r}: expected MODEL=PATH or "
                    f"MODEL:NAME=PATH")
  if colon and not CURVE_NAME.match(curve):
    raise UserError(f"--checkpoint {entry!r}: a curve name is letters, "
                    f"digits, '.', '_' and '-' (it names files)")
  return model, (curve if colon and curve != model else None), path


def checkpoint_curve(script, curve, paths, threads, description=None):
  """A `CurveSpec` named `curve`: each checkpoint folder's operating points.

  Folders holding the same weights are measured once; checkpoints of the
  same name but other weights get their fingerprint in their point label.
  """
  from tfcsuite import checkpoint as checkpoint_lib
  checkpoints = {}
  for path in paths:
    loaded = checkpoint_lib.load(path, script.name)
    checkpoints.setdefault(loaded.fingerprint, loaded)
  labels = [c.name for c in checkpoints.values()]
  points = []
  for loaded in checkpoints.values():
    label = loaded.name
    if labels.count(label) > 1:
      label = f"{label}-{loaded.fingerprint:08x}"
    # A checkpoint gives one point, or several for a model whose rate is a
    # compress option (Jiang 2017: one per JPEG quality).
    for suffix, options in script.operating_points(loaded):
      points.append(evaluation.CheckpointPoint(
          script, loaded, f"{label}-{suffix}" if suffix else label, threads,
          options, curve=curve))
  return CurveSpec(
      name=curve, label=curve, description=description or script.description,
      kind="model", published_curve=script.published_curve, points=points)


def _named_curves(entries):
  """{model: paths} and {curve: (model, paths)} of the --checkpoint flags."""
  from tfcsuite import zoo
  extra, named = {}, {}
  for entry in entries:
    model, curve, path = parse_checkpoint_flag(entry)
    if curve is None:
      extra.setdefault(model, []).append(path)
      continue
    if curve in zoo.MODEL_SCRIPTS or curve in classical.CODECS:
      raise UserError(f"--checkpoint {entry!r}: curve name {curve!r} is "
                      f"already a model or codec")
    if named.get(curve, (model,))[0] != model:
      raise UserError(f"--checkpoint {entry!r}: curve {curve!r} already "
                      f"holds checkpoints of model {named[curve][0]!r}")
    named.setdefault(curve, (model, []))[1].append(path)
  return extra, named


def model_curves(args):
  """A `CurveSpec` per selected model (its shipped and --checkpoint folders)
  and per curve named in --checkpoint MODEL:NAME=PATH."""
  from tfcsuite import zoo
  extra, named = _named_curves(args.checkpoint)
  names = _selected(args.models, zoo.MODEL_SCRIPTS, {}, "model")
  explicit = args.models.strip() not in ("all", "")
  names += [name for name in extra if name not in names]

  curves = []
  for name in names:
    paths = [] if args.no_shipped_checkpoints else zoo.shipped_checkpoints(name)
    paths += extra.get(name, [])
    if not paths:
      if explicit or name in extra:
        where = ("--no_shipped_checkpoints leaves it none"
                 if args.no_shipped_checkpoints else
                 f"none is under checkpoints/{name}/")
        raise UserError(f"model {name!r} has no checkpoint to measure "
                        f"({where}); pass --checkpoint {name}=PATH, or "
                        f"--models none to measure named curves alone")
      print(f"kodak.py: note: model {name!r} has no shipped checkpoint; "
            f"skipped", file=sys.stderr)
      continue
    curves.append(checkpoint_curve(zoo.load_script(name), name, paths,
                                   args.threads))
  for curve, (model, paths) in named.items():
    script = zoo.load_script(model)
    curves.append(checkpoint_curve(
        script, curve, paths, args.threads,
        description=f"{script.description} (curve {curve!r} of "
                    f"--checkpoint {model}:{curve}=PATH)"))
  return curves
