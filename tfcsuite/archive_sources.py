"""Where archived checkpoint files come from: git history, or a mirror.

`download` fills a folder with an archived entry's files (see
`tfcsuite.archive`), each from the first source that has it and whose copy
has the recorded size and SHA-256: the git repository this package lives in
(`git cat-file blob`), then $TFCS_CHECKPOINT_MIRROR, a directory or an
https:// or file:// URL holding `<model>/<fingerprint>/<file>`.
"""

import hashlib
import os
import subprocess
import urllib.request

from tfcsuite import zoo

MIRROR_VARIABLE = "TFCS_CHECKPOINT_MIRROR"
TIMEOUT = 120  # Seconds, per file: git or a mirror.
_CHUNK = 1 << 20


def _digest(path):
  sha = hashlib.sha256()
  with open(path, "rb") as f:
    for block in iter(lambda: f.read(_CHUNK), b""):
      sha.update(block)
  return os.path.getsize(path), sha.hexdigest()


def mismatch(folder, files):
  """The first file of `folder` that differs from its record, or None."""
  for name, record in files.items():
    path = os.path.join(folder, name)
    if not os.path.isfile(path) or _digest(path) != (record["size"],
                                                     record["sha256"]):
      return name
  return None


def _from_git(record, target):
  """Writes a blob to `target`; the reason it cannot, or None."""
  try:
    with open(target, "wb") as f:
      result = subprocess.run(
          ["git", "-C", str(zoo.REPO_ROOT), "cat-file", "blob",
           record["git_blob"]], stdout=f, stderr=subprocess.PIPE,
          timeout=TIMEOUT, check=False,
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
      with urllib.request.urlopen(url, timeout=TIMEOUT) as source:
        _copy_capped(source, target, size)
    else:
      return f"{MIRROR_VARIABLE}={base!r} is no directory, https:// or file:// URL"
  except (OSError, ValueError) as error:
    return f"mirror {base}: {relative}: {error}"
  return None


def download(model, entry, staging):
  """Fills `staging` with the entry's verified files; the reason it cannot."""
  for name, record in sorted(entry["files"].items()):
    target = os.path.join(staging, name)
    reasons = []
    for fetch in (lambda: _from_git(record, target),
                  lambda: _from_mirror(model, entry, name, target)):
      reason = fetch()
      if reason is None and mismatch(staging, {name: record}):
        reason = f"{name} differs from its recorded SHA-256"
      if reason is None:
        break
      reasons.append(reason)
    else:
      return "; ".join(reasons)
  return None


