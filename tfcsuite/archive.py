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

archives committed, unshipped folders: records them from HEAD's blobs and
removes them from the working tree (commit archived.json and the deletions).
"""

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.request
import zlib

from tfcsuite import UserError, checkpoint as checkpoint_lib, zoo

INDEX = "archived.json"
CACHE_VARIABLE = "TFCS_CHECKPOINT_CACHE"
MIRROR_VARIABLE = "TFCS_CHECKPOINT_MIRROR"
_CHUNK = 1 << 20
_TIMEOUT = 120  # Seconds, per file: git or a mirror.


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


def _digest(path):
  sha = hashlib.sha256()
  with open(path, "rb") as f:
    for block in iter(lambda: f.read(_CHUNK), b""):
      sha.update(block)
  return os.path.getsize(path), sha.hexdigest()


def _mismatch(folder, files):
  """The first file of `folder` that differs from its record, or None."""
  for name, record in files.items():
    path = os.path.join(folder, name)
    if not os.path.isfile(path) or _digest(path) != (record["size"],
                                                     record["sha256"]):
      return name
  return None


def _git(*args, **kwargs):
  return subprocess.run(["git", "-C", str(zoo.REPO_ROOT), *args],
                        timeout=_TIMEOUT, check=False, **kwargs)


def _from_git(record, target):
  """Writes a blob to `target`; the reason it cannot, or None."""
  try:
    with open(target, "wb") as f:
      result = _git("cat-file", "blob", record["git_blob"], stdout=f,
                    stderr=subprocess.PIPE,
                    env=dict(os.environ, GIT_TERMINAL_PROMPT="0"))
  except (OSError, subprocess.TimeoutExpired) as error:
    return f"git: {error}"
  if result.returncode:
    why = result.stderr.decode(errors="replace").strip().splitlines()
    return (f"git cannot read blob {record['git_blob'][:12]} in "
            f"{zoo.REPO_ROOT} ({why[0] if why else 'git failed'})")
  return None


def _copy_capped(source, target, size):
  """Copies a file object to `target`; refuses more than `size` bytes."""
  written = 0
  with open(target, "wb") as out:
    for block in iter(lambda: source.read(_CHUNK), b""):
      written += len(block)
      if written > size:
        raise ValueError(f"more than the recorded {size} bytes")
      out.write(block)


def _from_mirror(model, entry, name, target):
  """Copies one file from $TFCS_CHECKPOINT_MIRROR; the reason it cannot."""
  base = os.environ.get(MIRROR_VARIABLE)
  if not base:
    return f"{MIRROR_VARIABLE} is unset"
  relative = f"{model}/{entry['weights_crc32']}/{name}"
  size = entry["files"][name]["size"]
  try:
    if "://" not in base:
      with open(os.path.join(base, *relative.split("/")), "rb") as source:
        _copy_capped(source, target, size)
    elif base.startswith(("https://", "file://")):
      url = f"{base.rstrip('/')}/{relative}"
      with urllib.request.urlopen(url, timeout=_TIMEOUT) as source:
        _copy_capped(source, target, size)
    else:
      return f"{MIRROR_VARIABLE}={base!r} is no directory, https:// or file:// URL"
  except (OSError, ValueError) as error:
    return f"mirror {base}: {relative}: {error}"
  return None


def _download(model, entry, staging):
  """Fills `staging` with the entry's verified files; the reason it cannot."""
  for name, record in sorted(entry["files"].items()):
    target = os.path.join(staging, name)
    reasons = []
    for fetch in (lambda: _from_git(record, target),
                  lambda: _from_mirror(model, entry, name, target)):
      reason = fetch()
      if reason is None and _mismatch(staging, {name: record}):
        reason = f"{name} differs from its recorded SHA-256"
      if reason is None:
        break
      reasons.append(reason)
    else:
      return "; ".join(reasons)
  return None


def restore(model, entry):
  """The folder of an archived checkpoint, restored into the cache if it
  is not there yet; a one-line `UserError` if no source has it."""
  parent = os.path.join(cache_root(), model, entry["weights_crc32"])
  folder = os.path.join(parent, entry["checkpoint"])
  if os.path.isdir(folder) and not _mismatch(folder, entry["files"]):
    return folder
  os.makedirs(parent, exist_ok=True)
  staging = tempfile.mkdtemp(prefix=".restoring-", dir=parent)
  try:
    reason = _download(model, entry, staging)
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
      if _mismatch(folder, entry["files"]):
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


def main(argv=None):
  parser = argparse.ArgumentParser(
      prog="python -m tfcsuite.archive",
      description="\n\n".join(__doc__.rsplit("\n\n", maxsplit=2)[1:]),
      formatter_class=argparse.RawDescriptionHelpFormatter)
  parser.add_argument("--model", required=True, help="Registered model.")
  parser.add_argument("folders", nargs="+", help="Checkpoint folders.")
  args = parser.parse_args(argv)
  try:
    if args.model not in zoo.MODEL_SCRIPTS:
      raise UserError(f"unknown model {args.model!r}")
    for entry in archive_folders(args.model, args.folders):
      print(f"archived {entry['path']} ({entry['weights_crc32']})")
  except UserError as error:
    print(f"error: {error}", file=sys.stderr)
    return 1
  print(f"commit {os.path.relpath(_index_path(args.model), zoo.REPO_ROOT)} "
        f"and the removed folders")
  return 0


if __name__ == "__main__":
  sys.exit(main())
