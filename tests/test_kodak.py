"""Specification of the Kodak data set: checksums, download, TFDS builder."""

import os
import shutil

import numpy as np
import pytest

from tfcsuite import UserError, image_io
from tfcsuite.datasets import kodak

KODAK = os.environ.get("TFCS_KODAK_DIR", os.path.join(
    os.path.dirname(__file__), "..", "..", "shared", "data", "kodak"))


def test_local_folder_verifies_all_24_images():
  paths = kodak.verify(KODAK)
  assert [os.path.basename(p) for p in paths] == [
      f"kodim{i:02d}.png" for i in range(1, 25)]


def test_missing_folder_is_named(tmp_path):
  with pytest.raises(UserError, match="does not exist"):
    kodak.verify(str(tmp_path / "nowhere"))


def test_incomplete_folder_counts_missing_files(tmp_path):
  for name in ("kodim01.png", "kodim02.png"):
    shutil.copy(os.path.join(KODAK, name), tmp_path)
  with pytest.raises(UserError, match="22 of 24 files missing"):
    kodak.verify(str(tmp_path))


def test_altered_file_fails_its_checksum(tmp_path):
  shutil.copy(os.path.join(KODAK, "kodim03.png"), tmp_path)
  with open(tmp_path / "kodim03.png", "ab") as f:
    f.write(b"\0")
  with pytest.raises(UserError, match="SHA-256 check: kodim03.png"):
    kodak.verify(str(tmp_path), ["kodim03.png"])


def local_url_template():
  return "file://" + os.path.abspath(KODAK) + "/{name}"


def test_download_fetches_and_verifies_every_file(tmp_path):
  # The real download code, pointed at local files instead of the web.
  paths = kodak.download(str(tmp_path / "kodak"), local_url_template())
  assert len(paths) == 24
  assert sorted(os.listdir(tmp_path / "kodak")) == sorted(kodak.SHA256)


def test_download_refuses_a_wrong_checksum_and_keeps_nothing(tmp_path):
  source = tmp_path / "mirror"
  source.mkdir()
  (source / "kodim01.png").write_bytes(b"tampered")
  target = tmp_path / "kodak"
  with pytest.raises(UserError, match="SHA-256"):
    kodak.download(str(target), "file://" + str(source) + "/{name}")
  assert os.listdir(target) == []


def test_tfds_builder_builds_from_a_local_folder(tmp_path):
  import tensorflow_datasets as tfds
  builder = kodak.Kodak(data_dir=str(tmp_path / "tfds"))
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(
      manual_dir=KODAK))
  examples = list(builder.as_dataset(split="test").as_numpy_iterator())
  assert len(examples) == 24
  first = min(examples, key=lambda e: e["filename"])
  assert first["filename"] == b"kodim01.png"
  np.testing.assert_array_equal(
      first["image"], image_io.read_image(os.path.join(KODAK, "kodim01.png")))
