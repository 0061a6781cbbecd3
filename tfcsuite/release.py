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
are stored as float16 (the default: half of float32) or, with `--kernels
int8`, as int8 with one float32 scale per output channel (a quarter), since
every release adds its bytes to the repository forever. The loaded model
computes with the rounded kernels, in the encoder and the decoder alike, so
files stay exact; the manifest's "storage" says which arrays were rounded.
"""

import argparse
import json
import os
import shutil
import sys

import numpy as np

from tfcsuite import UserError, archive, checkpoint, exit_status, zoo


KERNEL_STORAGE = ("float16", "int8", "float32")


def _int8(kernel):
  """(int8 kernel, float32 scales): symmetric, one scale per output channel
  (the last axis), so that each channel keeps 255 levels of its own range."""
  peak = np.abs(kernel).reshape(-1, kernel.shape[-1]).max(axis=0)
  scale = np.where(peak > 0, peak / 127., 1.).astype(np.float32)
  return np.round(kernel / scale).astype(np.int8), scale


def rounded_kernels(weights, storage="float16"):
  """(arrays to store, the names of the 4-D float32 kernels rounded to
  `storage`; int8 ones gain a `checkpoint.INT8_SCALE` array)."""
  if storage == "float32":
    return dict(weights), []
  rounded = sorted(key for key, array in weights.items()
                   if array.ndim == 4 and array.dtype == np.float32)
  stored = dict(weights)
  for key in rounded:
    if storage == "int8":
      stored[key], stored[key + checkpoint.INT8_SCALE] = _int8(weights[key])
    elif np.abs(weights[key]).max() >= np.finfo(np.float16).max:
      raise UserError(f"{key} exceeds float16's range: use --kernels int8")
    else:
      stored[key] = weights[key].astype(np.float16)
  return stored, rounded


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


def ship(model, release, sources, withdraw=(), kernels="float16"):
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
    weights, rounded = rounded_kernels(source.weights, kernels)
    provenance = dict(source.manifest["provenance"],
                      storage={kernels: rounded} if rounded else {})
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


def name_and_path(text):
  """An argparse type: "NAME=PATH" as (name, path)."""
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
  parser.add_argument("checkpoints", nargs="*", type=name_and_path,
                      metavar="NAME=PATH",
                      help="Shipped name and exported run checkpoint folder.")
  parser.add_argument("--withdraw", nargs="*", default=[], metavar="NAME",
                      help="Shipped names to remove from the shipped set "
                      "(and archive).")
  parser.add_argument("--kernels", choices=KERNEL_STORAGE,
                      default="float16",
                      help="How convolution kernels are stored (int8: one "
                      "float32 scale per output channel).")
  args = parser.parse_args(argv)
  return exit_status(_release, parser.prog, args)


def _release(args):
  zoo.load_script(args.model)
  before = shipped_index(args.model)
  for folder in ship(args.model, args.release, dict(args.checkpoints),
                     args.withdraw, args.kernels):
    print(f"{folder}: {checkpoint.fingerprint_of(folder):08x}")
  archive_replaced(args.model, before)


if __name__ == "__main__":
  sys.exit(main())
