"""tfcsuite/archive.py: archived checkpoints leave the tree and come back.

Most tests build a small git repository holding checkpoint folders (real
weights.npz files) and point `zoo` at it; two use this repository's
archived checkpoints.
"""

import hashlib
import json
import os
import pathlib
import shutil
import subprocess
import zlib

import numpy as np
import pytest

from conftest import PYTHON, REPO_ROOT, commit_all, git

from tfcsuite import UserError, archive, checkpoint, zoo
from tfcsuite.harness import curves, recorded_points

GOLDEN = REPO_ROOT / "tests" / "golden"


@pytest.fixture
def repo(tmp_path, monkeypatch):
  """A committed repository with checkpoints/balle18/lambda0.04 (unshipped)
  and a shipped lambda0.01; zoo points at it, the cache is empty."""
  root = tmp_path / "repo"
  for name, seed in (("lambda0.04", 4), ("lambda0.01", 1)):
    weights = dict(kernel=np.random.default_rng(seed).normal(
        size=(3, 3, 4, 4)).astype(np.float32))
    checkpoint.save(str(root / "checkpoints" / "balle18" / name), "balle18",
                    dict(lmbda=float(name[6:])), weights, {})
  (root / "checkpoints" / "balle18" / "shipped.json").write_text(
      '{"lambda0.01": "lambda0.01"}')
  commit_all(root)
  monkeypatch.setattr(zoo, "REPO_ROOT", root)
  monkeypatch.setattr(zoo, "CHECKPOINTS", root / "checkpoints")
  monkeypatch.setenv(archive.CACHE_VARIABLE, str(tmp_path / "cache"))
  monkeypatch.delenv(archive.MIRROR_VARIABLE, raising=False)
  return root


def _files(folder):
  """{file name: bytes} of a folder."""
  return {p.name: p.read_bytes() for p in pathlib.Path(folder).iterdir()}


def _archived(repo):
  """Archives lambda0.04: (its entry, {file name: original bytes})."""
  folder = repo / "checkpoints" / "balle18" / "lambda0.04"
  originals = _files(folder)
  [entry] = archive.archive_folders("balle18", [str(folder)])
  return entry, originals


def test_archiving_records_the_committed_files_and_removes_the_folder(repo):
  entry, originals = _archived(repo)
  assert not (repo / "checkpoints" / "balle18" / "lambda0.04").exists()
  assert entry["path"] == "checkpoints/balle18/lambda0.04"
  assert entry["checkpoint"] == "lambda0.04"
  assert entry["config"] == {"lmbda": 0.04}
  assert entry["archived_from"] == git(repo, "rev-parse", "HEAD").strip()
  assert entry["weights_crc32"] == (
      f"{zlib.crc32(originals['weights.npz']):08x}")
  for name, data in originals.items():
    assert entry["files"][name] == dict(
        size=len(data), sha256=hashlib.sha256(data).hexdigest(),
        git_blob=git(repo, "rev-parse",
                      f"HEAD:checkpoints/balle18/lambda0.04/{name}").strip())
  index = json.loads(
      (repo / "checkpoints" / "balle18" / "archived.json").read_text())
  assert index["archived"] == [entry]


def test_shipped_and_uncommitted_folders_are_not_archived(repo):
  with pytest.raises(UserError, match="is shipped"):
    archive.archive_folders("balle18",
                            [str(repo / "checkpoints/balle18/lambda0.01")])
  (repo / "checkpoints/balle18/lambda0.04/manifest.json").write_text("{}")
  with pytest.raises(UserError, match="uncommitted changes"):
    archive.archive_folders("balle18",
                            [str(repo / "checkpoints/balle18/lambda0.04")])
  assert (repo / "checkpoints/balle18/lambda0.04/weights.npz").is_file()


def test_a_file_of_archived_weights_restores_them_from_git(repo, tmp_path):
  entry, originals = _archived(repo)
  fingerprint = int(entry["weights_crc32"], 16)
  assert zoo.locate_file_checkpoint("balle18", "lambda0.04",
                                    fingerprint) == (None, entry)
  folder = zoo.checkpoint_folder_for_file("balle18", "lambda0.04",
                                          fingerprint)
  # Named after the checkpoint: files record the name of what made them.
  assert folder == str(tmp_path / "cache" / "balle18" /
                       entry["weights_crc32"] / "lambda0.04")
  assert _files(folder) == originals
  assert checkpoint.load(folder, "balle18").fingerprint == fingerprint
  assert zoo.has_replaced_versions("balle18", "lambda0.04")


def test_a_sha256_mismatch_is_refused_and_leaves_no_folder(repo, tmp_path):
  entry, _ = _archived(repo)
  entry["files"]["weights.npz"]["sha256"] = "0" * 64
  with pytest.raises(UserError, match="differs from its recorded SHA-256"):
    archive.restore("balle18", entry)
  assert not (tmp_path / "cache" / "balle18").exists() or not os.listdir(
      tmp_path / "cache" / "balle18")


def test_an_altered_cached_copy_is_restored_again(repo):
  entry, originals = _archived(repo)
  folder = archive.restore("balle18", entry)
  with open(os.path.join(folder, "weights.npz"), "r+b") as f:
    f.write(b"X")
  assert archive.restore("balle18", entry) == folder
  with open(os.path.join(folder, "weights.npz"), "rb") as f:
    assert f.read() == originals["weights.npz"]


def _mirror_without_git(repo, tmp_path):
  """Archives lambda0.04, exports a mirror of it and deletes the git
  repository (as a pip install or a Docker image has none): (entry,
  original files, mirror folder)."""
  entry, originals = _archived(repo)
  mirror = tmp_path / "mirror"
  assert archive.main(["--export", str(mirror)]) == 0
  assert sorted(os.listdir(mirror / "balle18" / entry["weights_crc32"])) == (
      sorted(originals))
  shutil.rmtree(repo / ".git")
  shutil.rmtree(tmp_path / "cache")
  return entry, originals, mirror


@pytest.mark.parametrize("as_url", [False, True], ids=["directory", "file_url"])
def test_without_git_history_a_mirror_restores_them(repo, tmp_path,
                                                    monkeypatch, as_url):
  entry, originals, mirror = _mirror_without_git(repo, tmp_path)
  monkeypatch.setenv(archive.MIRROR_VARIABLE,
                     mirror.as_uri() if as_url else str(mirror))
  folder = archive.restore("balle18", entry)
  assert _files(folder) == originals


def test_a_mirror_file_longer_than_recorded_is_refused(repo, tmp_path,
                                                      monkeypatch):
  entry, _, mirror = _mirror_without_git(repo, tmp_path)
  with open(mirror / "balle18" / entry["weights_crc32"] / "weights.npz",
            "ab") as f:
    f.write(b"more")
  monkeypatch.setenv(archive.MIRROR_VARIABLE, mirror.as_uri())
  with pytest.raises(UserError, match="more than the recorded"):
    archive.restore("balle18", entry)
  assert not os.listdir(tmp_path / "cache" / "balle18")


def test_a_shallow_clone_says_how_to_get_them(repo, tmp_path, monkeypatch):
  _archived(repo)
  commit_all(repo, "archive lambda0.04")
  clone = tmp_path / "clone"
  git(tmp_path, "clone", "-q", "--depth", "1", repo.as_uri(), str(clone))
  monkeypatch.setattr(zoo, "REPO_ROOT", clone)
  monkeypatch.setattr(zoo, "CHECKPOINTS", clone / "checkpoints")
  [entry] = archive.entries("balle18")
  with pytest.raises(UserError) as error:
    zoo.checkpoint_folder_for_file("balle18", "lambda0.04",
                                   int(entry["weights_crc32"], 16))
  message = str(error.value)
  assert "\n" not in message
  for part in ("balle18/lambda0.04", "git cannot read blob",
               "TFCS_CHECKPOINT_MIRROR is unset", "git fetch --unshallow"):
    assert part in message


def test_decompress_without_any_source_fails_in_one_line(tmp_path):
  # The golden file's checkpoint (balle17's retired lambda0.01) is archived;
  # GIT_DIR hides the repository, as in an install without git history.
  env = dict(os.environ, GIT_DIR=str(tmp_path / "no_repository"),
             TFCS_CHECKPOINT_CACHE=str(tmp_path / "cache"))
  env.pop(archive.MIRROR_VARIABLE, None)
  result = subprocess.run(
      [PYTHON, "-m", "tfcsuite.suite", "decompress",
       str(GOLDEN / "balle17_lambda0.01.tfci"), str(tmp_path / "out.png")],
      cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
  assert result.returncode == 1
  [line] = result.stderr.splitlines()
  assert line.startswith("tfcs: error: checkpoint balle17/lambda0.01 "
                         "(weights 455e216f, archived from checkpoints/"
                         "balle17/retired/455e216f/lambda0.01) cannot be "
                         "restored: git cannot read blob ")
  assert line.endswith("TFCS_CHECKPOINT_MIRROR is unset; run `git fetch "
                       "--unshallow` in a clone of the repository or set "
                       "TFCS_CHECKPOINT_MIRROR")
  assert not (tmp_path / "out.png").exists()
  assert not os.listdir(tmp_path / "cache" / "balle17")


def _curve(setting):
  """A balle17 curve of a results file with one point of `setting`."""
  spec = curves.CurveSpec("balle17", "balle17", "", "model", None, [])
  return curves.CurveResult(spec, [setting["checkpoint"]], [setting], {})


def test_a_recorded_point_of_archived_weights_restores_only_them(
    tmp_path, monkeypatch):
  cache = tmp_path / "cache"
  monkeypatch.setenv(archive.CACHE_VARIABLE, str(cache))
  # balle17's retired lambda0.01 (archived), as a harness run records it.
  [entry] = [e for e in archive.entries("balle17")
             if e["weights_crc32"] == "455e216f"]
  other = dict(checkpoint="lambda0.01", config=entry["config"],
               model="balle17", weights_crc32="00000000")
  assert recorded_points.point_for(_curve(other), 0, threads=1) is None
  assert not cache.exists()  # Matching restored nothing.
  point = recorded_points.point_for(
      _curve(dict(other, weights_crc32="455e216f")), 0, threads=1)
  assert point.checkpoint.fingerprint == 0x455e216f
  assert point.checkpoint.path == str(cache / "balle17" / "455e216f" /
                                      "lambda0.01")


def test_an_unwritable_cache_is_one_line(repo, tmp_path, monkeypatch):
  entry, _ = _archived(repo)
  (tmp_path / "file").write_text("")
  monkeypatch.setenv(archive.CACHE_VARIABLE, str(tmp_path / "file"))
  with pytest.raises(UserError, match="cannot write the checkpoint cache"):
    archive.restore("balle18", entry)
