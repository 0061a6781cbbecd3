"""Ships trained checkpoints as a release, without touching earlier ones.

    python -m tfcsuite.release --model balle18 --release 2026-12-05 \\
        lambda0.01=runs/balle18_lambda0.01/checkpoint ... [--withdraw NAME ...]

copies each run's exported checkpoint to
`checkpoints/<model>/releases/<release>/<name>/` and lists it in
`checkpoints/<model>/shipped.json` (see `tfcsuite.zoo`). The checkpoints a
release replaces, and those `--withdraw` removes from the shipped set, are
then archived (`tfcsuite.archive`: out of the working tree, restored from
git history when a file made with them is decoded), so git stores nothing
twice and the tree keeps only the shipped set; if they cannot be archived
yet (uncommitted), they stay in place and the command to archive them once
committed is printed.

Convolution kernels (4-D float32 arrays, nearly all of a checkpoint's bytes)
are stored as float16 unless `--float32`: it halves what every release adds
to the repository forever. The loaded model computes with the rounded
kernels, in the encoder and the decoder alike, so files stay exact; the
manifest's "storage" says which arrays were rounded.
"""

import argparse
import json
import os
import shutil
import sys

import numpy as np

from tfcsuite import UserError, archive, checkpoint, exit_status, zoo


def half_precision_kernels(weights):
  """(weights with 4-D float32 arrays as float16, the names rounded)."""
  rounded = sorted(key for key, array in weights.items()
                   if array.ndim == 4 and array.dtype == np.float32)
  for key in rounded:
    if np.abs(weights[key]).max() >= np.finfo(np.float16).max:
      raise UserError(f"{key} exceeds float16's range: use --float32")
  return {key: array.astype(np.float16) if key in rounded else array
          for key, array in weights.items()}, rounded


def _legacy_index(model):
  root = os.path.join(zoo.CHECKPOINTS, model)
  return {os.path.basename(folder): os.path.relpath(folder, root)
          for folder in zoo.shipped_checkpoints(model)}


def shipped_index(model):
  """{name: folder relative to checkpoints/<model>/} of the shipped set."""
  index_path = os.path.join(zoo.CHECKPOINTS, model, zoo.SHIPPED_INDEX)
  if not os.path.isfile(index_path):
    return _legacy_index(model)
  with open(index_path) as f:
    return json.load(f)


def ship(model, release, sources, withdraw=(), float32=False):
  """Copies `sources` ({name: run checkpoint folder}) into a release of
  `model` and rewrites its shipped.json; returns the new folders."""
  root = os.path.join(zoo.CHECKPOINTS, model)
  index_path = os.path.join(root, zoo.SHIPPED_INDEX)
  index = shipped_index(model)
  for name in withdraw:
    if name not in index:
      raise UserError(f"--withdraw {name}: {model} ships no checkpoint "
                      f"of that name")
    del index[name]
  loaded = {name: checkpoint.load(path, model)
            for name, path in sources.items()}
  folders = []
  for name, source in loaded.items():
    relative = os.path.join("releases", release, name)
    target = os.path.join(root, relative)
    if os.path.exists(target):
      raise UserError(f"{target} exists: a release is never rewritten; "
                      f"choose another --release")
    weights, rounded = source.weights, []
    if not float32:
      weights, rounded = half_precision_kernels(weights)
    provenance = dict(source.manifest["provenance"],
                      storage=dict(float16=rounded))
    checkpoint.save(target, model, source.config, weights, provenance)
    index[name] = relative
    folders.append(target)
  with open(index_path, "w") as f:
    json.dump(dict(sorted(index.items())), f, indent=2)
    f.write("\n")
  return folders


def archive_replaced(model, before, out=None):
  """Archives the folders of `before` (a `shipped_index`) that left the
  shipped set; if they cannot be, says how to once they are committed."""
  out = out or sys.stdout
  after = shipped_index(model)
  root = os.path.join(zoo.CHECKPOINTS, model)
  left = sorted(os.path.join(root, folder) for name, folder in before.items()
                if after.get(name) != folder and
                os.path.isdir(os.path.join(root, folder)))
  if not left:
    return
  try:
    for entry in archive.archive_folders(model, left):
      print(f"archived {entry['path']} ({entry['weights_crc32']})", file=out)
  except UserError as error:
    command = " ".join(["python -m tfcsuite.archive --model", model] + [
        os.path.relpath(folder, zoo.REPO_ROOT) for folder in left])
    print(f"not archived ({error}); once committed, run from the "
          f"repository root: {command}", file=out)


def _source(text):
  name, separator, path = text.partition("=")
  if not separator or not name or not path:
    raise argparse.ArgumentTypeError(f"{text!r} is not NAME=PATH")
  return name, path


def main(argv=None):
  parser = argparse.ArgumentParser(
      prog="python -m tfcsuite.release",
      description=__doc__.split("\n\n", maxsplit=2)[1].strip(),
      formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--model", required=True, help="Registered model.")
  parser.add_argument("--release", required=True,
                      help="Release folder name, e.g. the date 2026-12-05.")
  parser.add_argument("checkpoints", nargs="*", type=_source,
                      metavar="NAME=PATH",
                      help="Shipped name and exported run checkpoint folder.")
  parser.add_argument("--withdraw", nargs="*", default=[], metavar="NAME",
                      help="Shipped names to remove from the shipped set "
                      "(and archive).")
  parser.add_argument("--float32", action="store_true",
                      help="Keep convolution kernels in float32.")
  args = parser.parse_args(argv)
  return exit_status(_release, parser.prog, args)


def _release(args):
  zoo.load_script(args.model)
  before = shipped_index(args.model)
  for folder in ship(args.model, args.release, dict(args.checkpoints),
                     args.withdraw, args.float32):
    print(f"{folder}: {checkpoint.fingerprint_of(folder):08x}")
  archive_replaced(args.model, before)


if __name__ == "__main__":
  sys.exit(main())
