"""tfcsuite/release.py: a release adds checkpoints without touching old ones."""

import json
import os

import numpy as np
import pytest
from PIL import Image

from tfcsuite import (UserError, archive, checkpoint, coding, container,
                      release, zoo)

from conftest import REPO_ROOT, commit_all

CROP = REPO_ROOT / "tests" / "golden" / "astronaut_64x96.png"


@pytest.fixture
def checkpoints_root(tmp_path, monkeypatch):
  monkeypatch.setattr(zoo, "CHECKPOINTS", tmp_path)
  return tmp_path


def _code(folder):
  """(file bytes, decoded image) of the golden crop with a checkpoint."""
  ckpt = checkpoint.load(folder, "balle18")
  model = zoo.load_script("balle18").coding_model(ckpt)
  with Image.open(CROP) as image:
    pixels = np.asarray(image)
  data = container.pack(coding.encode(model, ckpt, pixels))
  parsed = container.unpack(data, "balle18")
  return data, coding.decode(model, parsed)


def test_kernels_are_stored_in_float16_and_computed_in_float32(
    checkpoints_root, tiny_balle18_checkpoint):
  [folder] = release.ship("balle18", "2026-12-05",
                          {"lambda0.01": str(tiny_balle18_checkpoint)})
  with np.load(f"{folder}/weights.npz") as stored:
    rounded = sorted(key for key in stored.files
                     if stored[key].dtype == np.float16)
    assert rounded and all(stored[key].ndim == 4 for key in rounded)
  loaded = checkpoint.load(folder)
  assert all(loaded.weights[key].dtype == np.float32 for key in rounded)
  assert loaded.manifest["provenance"]["storage"]["float16"] == rounded
  original = checkpoint.load(str(tiny_balle18_checkpoint))
  for key in rounded:
    np.testing.assert_allclose(loaded.weights[key], original.weights[key],
                               rtol=1e-3, atol=1e-7)


def test_int8_kernels_are_within_half_a_step_of_each_channels_scale(
    checkpoints_root, tiny_balle18_checkpoint):
  [folder] = release.ship("balle18", "2026-12-05",
                          {"lambda0.01": str(tiny_balle18_checkpoint)},
                          kernels="int8")
  loaded = checkpoint.load(folder)
  original = checkpoint.load(str(tiny_balle18_checkpoint))
  rounded = loaded.manifest["provenance"]["storage"]["int8"]
  assert rounded and sorted(loaded.weights) == sorted(original.weights)
  with np.load(f"{folder}/weights.npz") as stored:
    for key in rounded:
      scale = stored[key + checkpoint.INT8_SCALE]
      assert stored[key].dtype == np.int8
      assert scale.shape == (original.weights[key].shape[-1],)
      assert np.all(np.abs(loaded.weights[key] - original.weights[key])
                    <= scale / 2 * (1 + 1e-6))


def test_int8_kernels_take_a_quarter_of_float32_bytes_plus_their_scales(
    checkpoints_root, tiny_balle18_checkpoint):
  original = checkpoint.load(str(tiny_balle18_checkpoint))
  kernels = [array for array in original.weights.values() if array.ndim == 4]
  kernel_bytes = sum(array.nbytes for array in kernels)
  scale_bytes = sum(4 * array.shape[-1] for array in kernels)
  sizes = {}
  for storage in ("float32", "int8"):
    [folder] = release.ship("balle18", f"2026-12-05-{storage}",
                            {"lambda0.01": str(tiny_balle18_checkpoint)},
                            kernels=storage)
    sizes[storage] = os.path.getsize(f"{folder}/weights.npz")
  saved = sizes["float32"] - sizes["int8"]
  # Each scale array also adds a zip entry and an .npy header (< 400 bytes).
  assert 0.75 * kernel_bytes - scale_bytes - 400 * len(kernels) <= saved
  assert saved <= 0.75 * kernel_bytes - scale_bytes


def test_a_release_is_shipped_and_earlier_weights_stay_in_place(
    checkpoints_root, tiny_balle18_checkpoint):
  old = checkpoints_root / "balle18" / "lambda0.01"
  old_checkpoint = checkpoint.load(str(tiny_balle18_checkpoint))
  checkpoint.save(str(old), "balle18", old_checkpoint.config,
                  old_checkpoint.weights, old_checkpoint.manifest["provenance"])
  old_file, old_image = _code(str(old))
  [new] = release.ship("balle18", "2026-12-05",
                       {"lambda0.01": str(tiny_balle18_checkpoint)})
  index = json.loads((checkpoints_root / "balle18" / "shipped.json").read_text())
  assert index == {"lambda0.01": "releases/2026-12-05/lambda0.01"}
  assert zoo.shipped_checkpoints("balle18") == [new]
  # The file made before the release still finds its weights, unmoved.
  parsed = container.unpack(old_file, "balle18")
  assert zoo.checkpoint_folder_for_file(
      "balle18", parsed.checkpoint, parsed.weights_crc32) == str(old)
  _, again = _code(zoo.checkpoint_folder_for_file(
      "balle18", parsed.checkpoint, parsed.weights_crc32))
  np.testing.assert_array_equal(again, old_image)
  new_file, _ = _code(new)
  parsed = container.unpack(new_file, "balle18")
  assert zoo.checkpoint_folder_for_file(
      "balle18", parsed.checkpoint, parsed.weights_crc32) == new


def test_a_release_is_never_rewritten(checkpoints_root,
                                      tiny_balle18_checkpoint):
  sources = {"lambda0.01": str(tiny_balle18_checkpoint)}
  release.ship("balle18", "r1", sources)
  with pytest.raises(UserError, match="never rewritten"):
    release.ship("balle18", "r1", sources)


def test_withdrawn_names_leave_the_shipped_set_but_not_the_disk(
    checkpoints_root, tiny_balle18_checkpoint):
  sources = {"lambda0.01": str(tiny_balle18_checkpoint),
             "lambda0.04": str(tiny_balle18_checkpoint)}
  release.ship("balle18", "r1", sources)
  release.ship("balle18", "r2", {}, withdraw=["lambda0.04"])
  assert [p.split("/")[-1] for p in zoo.shipped_checkpoints("balle18")] == [
      "lambda0.01"]
  assert (checkpoints_root / "balle18" / "releases" / "r1" /
          "lambda0.04" / "weights.npz").is_file()


def test_withdrawn_checkpoints_are_archived_and_their_files_still_decode(
    tmp_path, monkeypatch, tiny_balle18_checkpoint):
  zoo.load_script("balle18")  # From this repository, before it is patched.
  root = tmp_path / "repo"
  monkeypatch.setattr(zoo, "REPO_ROOT", root)
  monkeypatch.setattr(zoo, "CHECKPOINTS", root / "checkpoints")
  [_, withdrawn] = release.ship("balle18", "r1", {
      "lambda0.01": str(tiny_balle18_checkpoint),
      "lambda0.04": str(tiny_balle18_checkpoint)})
  commit_all(root)
  data, image = _code(withdrawn)
  assert release.main(["--model", "balle18", "--release", "r2",
                       "--withdraw", "lambda0.04"]) == 0
  assert not (root / "checkpoints" / "balle18" / "releases" / "r1" /
              "lambda0.04").exists()
  [entry] = archive.entries("balle18")
  assert entry["path"] == "checkpoints/balle18/releases/r1/lambda0.04"
  # The file made with the withdrawn checkpoint: restored from git history.
  parsed = container.unpack(data, "balle18")
  folder = zoo.checkpoint_folder_for_file("balle18", parsed.checkpoint,
                                          parsed.weights_crc32)
  assert folder.startswith(os.environ[archive.CACHE_VARIABLE])
  _, again = _code(folder)
  np.testing.assert_array_equal(again, image)


def test_uncommitted_withdrawn_checkpoints_stay_with_the_command_to_archive(
    checkpoints_root, tiny_balle18_checkpoint, capsys):
  release.ship("balle18", "r1", {"lambda0.04": str(tiny_balle18_checkpoint)})
  assert release.main(["--model", "balle18", "--release", "r2",
                       "--withdraw", "lambda0.04"]) == 0
  assert (checkpoints_root / "balle18" / "releases" / "r1" /
          "lambda0.04").is_dir()
  assert ("once committed, run from the repository root: python -m "
          "tfcsuite.archive --model balle18 " in capsys.readouterr().out)
