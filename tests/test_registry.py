"""tfcsuite/zoo.py: which shipped checkpoint a compressed file needs."""

from tfcsuite import checkpoint, zoo


def test_a_file_of_retrained_weights_finds_the_retired_checkpoint(
    tmp_path, monkeypatch):
  monkeypatch.setattr(zoo, "CHECKPOINTS", tmp_path)
  (tmp_path / "balle17" / "lambda0.01").mkdir(parents=True)
  retired = tmp_path / "balle17" / "retired" / "0000abcd" / "lambda0.01"
  retired.mkdir(parents=True)
  assert zoo.checkpoint_folder_for_file(
      "balle17", "lambda0.01", 0xabcd) == str(retired)
  # Any other fingerprint: the current checkpoint (which then refuses a
  # file of other weights by its fingerprint).
  assert zoo.checkpoint_folder_for_file(
      "balle17", "lambda0.01", 0x1234) == str(tmp_path / "balle17" /
                                              "lambda0.01")
  assert zoo.checkpoint_folder_for_file("balle17", "lambda9", 0x1) is None


def test_retired_checkpoints_are_not_shipped_points(tmp_path, monkeypatch):
  monkeypatch.setattr(zoo, "CHECKPOINTS", tmp_path)
  for folder in ("lambda0.01", "retired/0000abcd/lambda0.01"):
    (tmp_path / "balle17" / folder).mkdir(parents=True)
    (tmp_path / "balle17" / folder / "manifest.json").write_text("{}")
  assert zoo.shipped_checkpoints("balle17") == [
      str(tmp_path / "balle17" / "lambda0.01")]


def _checkpoint_folder(root, relative, content):
  folder = root / "balle18" / relative
  folder.mkdir(parents=True)
  (folder / "manifest.json").write_text("{}")
  (folder / "weights.npz").write_bytes(content)
  return folder


def test_a_release_index_names_the_shipped_set(tmp_path, monkeypatch):
  monkeypatch.setattr(zoo, "CHECKPOINTS", tmp_path)
  _checkpoint_folder(tmp_path, "lambda0.01", b"old")
  _checkpoint_folder(tmp_path, "lambda0.04", b"old, not re-released")
  new = _checkpoint_folder(tmp_path, "releases/2026-12-05/lambda0.01", b"new")
  (tmp_path / "balle18" / "shipped.json").write_text(
      '{"lambda0.01": "releases/2026-12-05/lambda0.01"}')
  assert zoo.shipped_checkpoints("balle18") == [str(new)]
  assert zoo.shipped_folder("balle18", "lambda0.01") == str(new)
  assert zoo.retired_versions("balle18", "lambda0.01") == [
      str(tmp_path / "balle18" / "lambda0.01")]


def test_files_of_replaced_weights_find_them_in_place(tmp_path, monkeypatch):
  monkeypatch.setattr(zoo, "CHECKPOINTS", tmp_path)
  old = _checkpoint_folder(tmp_path, "lambda0.01", b"old")
  new = _checkpoint_folder(tmp_path, "releases/2026-12-05/lambda0.01", b"new")
  (tmp_path / "balle18" / "shipped.json").write_text(
      '{"lambda0.01": "releases/2026-12-05/lambda0.01"}')
  assert zoo.checkpoint_folder_for_file(
      "balle18", "lambda0.01", checkpoint.fingerprint_of(old)) == str(old)
  assert zoo.checkpoint_folder_for_file(
      "balle18", "lambda0.01", checkpoint.fingerprint_of(new)) == str(new)
  # Weights of neither: the shipped one, whose load refuses the file.
  assert zoo.checkpoint_folder_for_file("balle18", "lambda0.01", 7) == str(new)
