"""tfcsuite/zoo.py: which shipped checkpoint a compressed file needs."""

from tfcsuite import zoo


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
