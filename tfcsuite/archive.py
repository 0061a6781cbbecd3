"""Archived checkpoints: withdrawn folders out of the tree, restored on demand.

A withdrawn or retired checkpoint is still needed by every file made with
it, but not in every working tree: its files stay in git history forever.
`checkpoints/<model>/archived.json` lists each archived folder: its former
path, checkpoint name, the weights fingerprint files record, configuration,
the commit it was archived from, and each file's size, SHA-256 and git blob.

Decoding such a file restores the folder into the cache
($TFCS_CHECKPOINT_CACHE, default ~/.cache/tfcsuite/checkpoints) as
`<model>/<fingerprint>/<name>/` (named after the checkpoint, which files
record), from the first source that has it:
  1. the git repository this package lives in (`git cat-file blob`);
  2. $TFCS_CHECKPOINT_MIRROR: a directory, or an https:// or file:// URL,
     holding `<model>/<fingerprint>/<file>`.
Files are checked against their recorded size and SHA-256 in a temporary
folder that is then renamed into place: the cache never holds a partial or
altered checkpoint.

    python -m tfcsuite.archive --model balle18 checkpoints/balle18/lambda0.01 ...
    python -m tfcsuite.archive --export DIR

The first archives committed, unshipped folders: records them from HEAD's
blobs and removes them from the working tree (commit archived.json and the
deletions). The second writes every archived checkpoint, verified, as a
mirror folder, for machines without the git history (e.g. a Docker image).
"""

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zlib

from tfcsuite import UserError, archive_sources, checkpoint as checkpoint_lib
from tfcsuite import exit_status
from tfcsuite import zoo
from tfcsuite.archive_sources import MIRROR_VARIABLE, mismatch

INDEX = "archived.json"
CACHE_VARIABLE = "TFCS_CHECKPOINT_CACHE"


def _index_path(model):
  return os.path.join(zoo.CHECKPOINTS, model, INDEX)


def entries(model):
  """The archived folders of a model (a list of dicts; see the docstring)."""
  path = _index_path(model)
  if not os.path.isfile(path):
    return []
  with open(path) as f:
    return json.load(f)["archived"]


def find(model, checkpoint_name, fingerprint):
  """The archived entry of a checkpoint name and fingerprint, or None."""
  return next((entry for entry in entries(model)
               if entry["checkpoint"] == checkpoint_name and
               entry["weights_crc32"] == f"{fingerprint:08x}"), None)


def placeholder(model, entry):
  """A weightless `Checkpoint` of an entry: its name, configuration and
  fingerprint, enough to match recorded results without restoring it."""
  return checkpoint_lib.Checkpoint(
      os.path.join(zoo.REPO_ROOT, entry["path"]),
      dict(model=model, config=entry["config"]), weights=None,
      fingerprint=int(entry["weights_crc32"], 16))


def cache_root():
  return os.environ.get(CACHE_VARIABLE) or os.path.join(
      os.path.expanduser("~"), ".cache", "tfcsuite", "checkpoints")


def _git(*args, **kwargs):
  return subprocess.run(["git", "-C", str(zoo.REPO_ROOT), *args],
                        timeout=archive_sources.TIMEOUT, check=False, **kwargs)


def restore(model, entry):
  """The folder of an archived checkpoint, restored into the cache if it
  is not there yet; a one-line `UserError` if no source has it."""
  parent = os.path.join(cache_root(), model, entry["weights_crc32"])
  folder = os.path.join(parent, entry["checkpoint"])
  if os.path.isdir(folder) and not mismatch(folder, entry["files"]):
    return folder
  try:
    os.makedirs(parent, exist_ok=True)
    staging = tempfile.mkdtemp(prefix=".restoring-", dir=parent)
  except OSError as error:
    raise UserError(f"cannot write the checkpoint cache {parent} "
                    f"({error.strerror}): set {CACHE_VARIABLE}") from None
  try:
    reason = archive_sources.download(model, entry, staging)
    if reason:
      shutil.rmtree(staging)
      if not os.listdir(parent):
        os.rmdir(parent)
      raise UserError(
          f"checkpoint {model}/{entry['checkpoint']} (weights "
          f"{entry['weights_crc32']}, archived from {entry['path']}) cannot "
          f"be restored: {reason}; run `git fetch --unshallow` in a clone of "
          f"the repository or set {MIRROR_VARIABLE}")
    if os.path.isdir(folder):  # Altered since: replaced whole.
      shutil.rmtree(folder)
    try:
      os.rename(staging, folder)
    except OSError:  # Another process restored it first.
      if mismatch(folder, entry["files"]):
        raise
    return folder
  finally:
    shutil.rmtree(staging, ignore_errors=True)


def record(model, folder, commit):
  """The archived.json entry of a committed checkpoint folder, from `commit`."""
  relative = os.path.relpath(os.path.abspath(folder), zoo.REPO_ROOT)
  listing = _git("ls-tree", "-r", "-z", commit, "--", relative + "/",
                 capture_output=True)
  files = {}
  for line in listing.stdout.decode().split("\0"):
    if line:
      meta, path = line.split("\t", 1)
      files[os.path.relpath(path, relative)] = meta.split()[2]
  on_disk = sorted(os.listdir(folder))
  if listing.returncode or sorted(files) != on_disk:
    raise UserError(f"{relative}: its files are not all committed")
  entry = dict(path=relative, checkpoint=os.path.basename(relative),
               archived_from=commit, files={})
  for name, blob in sorted(files.items()):
    content = _git("cat-file", "blob", blob, capture_output=True).stdout
    entry["files"][name] = dict(size=len(content),
                                sha256=hashlib.sha256(content).hexdigest(),
                                git_blob=blob)
    if name == checkpoint_lib.WEIGHTS:
      entry["weights_crc32"] = f"{zlib.crc32(content):08x}"
    elif name == checkpoint_lib.MANIFEST:
      entry["config"] = json.loads(content)["config"]
  return entry


def _check_archivable(model, folder):
  root = os.path.join(zoo.CHECKPOINTS, model)
  relative = os.path.relpath(os.path.abspath(folder), root)
  if relative.startswith(os.pardir) or not os.path.isfile(
      os.path.join(folder, checkpoint_lib.MANIFEST)):
    raise UserError(f"{folder}: not a checkpoint folder of {root}")
  shipped = {os.path.normpath(p) for p in zoo.shipped_checkpoints(model)}
  if os.path.normpath(os.path.abspath(folder)) in shipped:
    raise UserError(f"{folder} is shipped: withdraw it first "
                    f"(python -m tfcsuite.release --withdraw)")
  status = _git("status", "--porcelain", "--untracked-files=all", "--",
                os.path.abspath(folder), capture_output=True, text=True)
  if status.returncode or status.stdout.strip():
    raise UserError(f"{folder} has uncommitted changes (or is not in a git "
                    f"repository): commit it first")


def archive_folders(model, folders):
  """Records `folders` in archived.json and removes them from the tree."""
  for folder in folders:
    _check_archivable(model, folder)
  commit = _git("rev-parse", "HEAD", capture_output=True,
                text=True).stdout.strip()
  new = [record(model, folder, commit) for folder in folders]
  kept = [e for e in entries(model)
          if e["path"] not in {entry["path"] for entry in new}]
  with open(_index_path(model), "w") as f:
    json.dump(dict(note="Checkpoint folders removed from the tree; "
                   "restored on demand by tfcsuite.archive.",
                   archived=sorted(kept + new, key=lambda e: e["path"])),
              f, indent=1, sort_keys=True)
    f.write("\n")
  root = os.path.join(zoo.CHECKPOINTS, model)
  for folder in folders:
    shutil.rmtree(folder)
    parent = os.path.dirname(os.path.abspath(folder))
    while parent != os.path.abspath(root) and not os.listdir(parent):
      os.rmdir(parent)  # E.g. retired/<crc>/ once its checkpoint is gone.
      parent = os.path.dirname(parent)
  return new


def export_mirror(target):
  """Copies every archived checkpoint (restored, verified) to `target` as
  <model>/<fingerprint>/<file>; the folders written."""
  written = []
  for model in sorted(zoo.MODEL_SCRIPTS):
    for entry in entries(model):
      folder = os.path.join(target, model, entry["weights_crc32"])
      shutil.copytree(restore(model, entry), folder, dirs_exist_ok=True)
      written.append(folder)
  return written


def _run(args):
  if args.export:
    return [f"exported {folder}" for folder in export_mirror(args.export)]
  if args.model not in zoo.MODEL_SCRIPTS or not args.folders:
    raise UserError("archiving needs --model (a registered model) and "
                    "checkpoint folders")
  return [f"archived {entry['path']} ({entry['weights_crc32']})"
          for entry in archive_folders(args.model, args.folders)] + [
              f"commit {os.path.relpath(_index_path(args.model), zoo.REPO_ROOT)}"
              f" and the removed folders"]


def main(argv=None):
  parser = argparse.ArgumentParser(
      prog="python -m tfcsuite.archive",
      description=__doc__[__doc__.index("    python -m"):],
      formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--model", help="Registered model.")
  parser.add_argument("folders", nargs="*", help="Checkpoint folders.")
  parser.add_argument("--export", metavar="DIR",
                      help="Write every archived checkpoint to a mirror DIR.")
  args = parser.parse_args(argv)
  return exit_status(lambda: print("\n".join(_run(args))), parser.prog)


if __name__ == "__main__":
  sys.exit(main())
