"""`tfcs evaluate`: the harness's measurements on any images, in the schema
benchmarks/kodak.py writes, cached by each image's own SHA-256."""

import csv
import hashlib
import json
import types

import pytest
from PIL import Image

from conftest import REPO_ROOT

from tfcsuite import UserError, checkpoint, coding, container, image_io, zoo
from tfcsuite import metrics, suite
from tfcsuite.harness import evaluate_images, evaluation


@pytest.fixture
def photos(tmp_path, kodak_dir):
  """A folder with a PNG and a JPEG that are not Kodak files."""
  folder = tmp_path / "photos"
  folder.mkdir()
  image = image_io.read_image(str(kodak_dir / "kodim23.png"))
  image_io.write_image(str(folder / "parrots.png"), image[:64, :96])
  Image.fromarray(image[200:264, 300:396]).save(folder / "detail.jpg",
                                                quality=90)
  return folder


def evaluate(photos, out, *flags):
  return suite.main(["evaluate", "--model", "balle17", str(photos),
                     "--out", str(out), "--quiet", *map(str, flags)])


@pytest.fixture
def measured(photos, tmp_path, capsys):
  out = tmp_path / "out"
  status = evaluate(photos, out, "--keep_bitstreams")
  # Read now, so that tests see only their own output.
  assert status == 0, capsys.readouterr().err
  capsys.readouterr()
  return out


def test_results_have_the_kodak_json_schema(measured):
  results = json.loads((measured / "results.json").read_text())
  kodak = json.loads((REPO_ROOT / "benchmarks" / "results" /
                      "kodak.json").read_text())
  assert set(results) == set(kodak)
  assert set(kodak["metadata"]) <= set(results["metadata"])
  [curve] = results["curves"]
  [shipped] = [c for c in kodak["curves"] if c["name"] == "balle17"]
  assert set(curve) == set(shipped)
  assert set(curve["results"]) == set(shipped["results"])
  assert curve["points"] == ["lambda0.01"]  # The default checkpoint.
  assert results["metadata"]["images"] == ["detail.jpg", "parrots.png"]
  assert results["metadata"]["complete"] is False
  assert curve["published_curve"] is None  # Kodak curves: not comparable.
  assert json.loads((measured / "curves" / "balle17.json").read_text()) == (
      curve)


def test_measurements_are_those_of_the_decoded_files(measured, photos):
  with open(measured / "per_image.csv") as f:
    rows = {row["image"]: row for row in csv.DictReader(f)}
  ckpt = checkpoint.load(str(REPO_ROOT / "checkpoints" / "balle17" /
                             "lambda0.01"))
  model = zoo.load_script("balle17").coding_model(ckpt)
  for name, row in rows.items():
    kept = next((measured / "cache" / "balle17").glob(
        f"lambda0.01-*/{name.split('.')[0]}.tfci"))
    original = image_io.read_image(str(photos / name))
    decoded = coding.decode(model, container.unpack(kept.read_bytes()))
    assert int(row["file_bytes"]) == kept.stat().st_size
    assert float(row["bpp"]) == pytest.approx(
        kept.stat().st_size * 8 / (64 * 96), rel=1e-12)
    assert float(row["psnr_rgb"]) == pytest.approx(
        metrics.psnr(original, decoded), rel=1e-12)


def test_cache_keys_images_by_their_own_sha256(measured, photos):
  entry = json.loads(next((measured / "cache" / "balle17").glob(
      "*/detail.json")).read_text())
  assert entry["key"]["image_sha256"] == hashlib.sha256(
      (photos / "detail.jpg").read_bytes()).hexdigest()


def test_rerun_measures_only_a_changed_image(measured, photos, monkeypatch):
  encoded = []
  original = evaluation.CheckpointPoint.encode
  monkeypatch.setattr(evaluation.CheckpointPoint, "encode",
                      lambda self, image: encoded.append(image.shape) or
                      original(self, image))
  image = image_io.read_image(str(photos / "parrots.png"))
  image_io.write_image(str(photos / "parrots.png"), 255 - image,
                       overwrite=True)
  assert evaluate(photos, measured, "--overwrite") == 0
  assert len(encoded) == 2  # Warm-up, then parrots.png alone.
  metadata = json.loads((measured / "results.json").read_text())["metadata"]
  assert (metadata["measurements"], metadata["from_cache"]) == (2, 1)


def test_earlier_results_are_kept_without_overwrite(measured, photos, capsys):
  before = (measured / "results.json").read_bytes()
  assert evaluate(photos, measured) == 1
  error = capsys.readouterr().err
  assert error.count("\n") == 1
  assert "holds results of an earlier run" in error and "--overwrite" in error
  assert (measured / "results.json").read_bytes() == before


def test_images_whose_names_differ_only_by_extension_are_refused(
    photos, tmp_path, capsys):
  (photos / "parrots.jpg").write_bytes((photos / "detail.jpg").read_bytes())
  assert evaluate(photos, tmp_path / "out") == 1
  assert "have the same name without extension" in capsys.readouterr().err
  assert not (tmp_path / "out").exists()


def test_unreadable_image_is_reported_before_measuring(photos, tmp_path,
                                                       capsys):
  (photos / "broken.png").write_text("not a PNG")
  assert evaluate(photos, tmp_path / "out") == 1
  assert "broken.png' is not an image Pillow can read" in (
      capsys.readouterr().err)
  assert not (tmp_path / "out").exists()


def test_every_operating_point_of_the_default_checkpoint():
  spec = evaluate_images.model_curve("jiang17", [], threads=1)
  assert [point.label for point in spec.points] == [
      "rgb-q5", "rgb-q10", "rgb-q20", "rgb-q40"]
  assert [point.options for point in spec.points] == [
      {"quality": q} for q in (5, 10, 20, 40)]


def test_checkpoint_without_operating_points_is_a_user_error():
  with pytest.raises(UserError, match="defines no operating point"):
    evaluate_images.model_curve(
        "jiang17", [str(REPO_ROOT / "checkpoints" / "jiang17" / "gray")], 1)


def test_kodak_run_keys_by_the_kodak_table():
  point = types.SimpleNamespace(key={"model": "m"})
  cache = evaluation.ResultCache("unused")
  assert cache.key(point, "kodim01.png")["image_sha256"] == (
      "a56e27cbf5f843c048b6af1d6e090760e9c92fadba88b7dee0205918a37523bd")
