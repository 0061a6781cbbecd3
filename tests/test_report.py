"""Specification of the visual report (benchmarks/report.py): a static page
that a real browser renders with every image, the BD-rate table, crops at
the committed measurements' bit rates, any model's illustrations and the
campaign's progress plot, within its size budget."""

import json
import pathlib
import shutil

import numpy as np
import pytest
from PIL import Image

from chromium_page import loaded, require_chromium
from conftest import BENCHMARKS, REPO_ROOT
from tfcsuite import UserError, image_io, zoo
from tfcsuite.harness import (crops, model_illustrations, report_cli,
                              report_page, results_files, training_progress)

RESULTS = BENCHMARKS / "results"
COMMITTED_PAGE = RESULTS / "report.html"
BUDGET = 3_000_000  # Bytes of HTML and images.
PROGRESS = pathlib.Path(__file__).parent / "campaign_progress.json"
CURVES = ("jpeg420", "webp")


@pytest.fixture(scope="module")
def page(tmp_path_factory, kodak_dir, reference_dir):
  """A report of the committed results, crops of two codecs on kodim23."""
  out = tmp_path_factory.mktemp("report")
  (out / "campaign").mkdir()
  shutil.copy(PROGRESS, out / "campaign" / "progress.json")
  shutil.copy(REPO_ROOT / "README.md", out / "README.md")
  # In process: TensorFlow (for MS-SSIM) and matplotlib are loaded once.
  assert report_cli.main([
      "--data_dir", str(kodak_dir), "--reference_dir", str(reference_dir),
      "--out", str(out), "--cache_dir", str(out / "cache"),
      "--crop_images", "kodim23.png", "--crop_curves", ",".join(CURVES),
      "--illustrate", "none", "--readme", str(out / "README.md"),
      "--progress", str(out / "campaign" / "progress.json")]) == 0
  return out / "report.html"


def test_page_renders_every_image_and_the_table_in_chromium(page, tmp_path):
  require_chromium()
  found = loaded(page, tmp_path)
  sources = {src for src, _ in found["images"]}
  # Two plots, the original and 2 curves x 2 rates (crop and difference
  # view), the progress plot.
  assert {"report/kodak_psnr.png", "report/kodak_ms_ssim.png",
          "report/kodim23_original.png",
          "campaign/training_progress.png"} <= sources
  assert sum(src.startswith("report/kodim23_") for src in sources) == 5
  assert [src for src, width in found["images"] if width <= 0] == []
  _, committed = results_files.read_run(RESULTS / "kodak.json")
  assert found["tables"] == [["bd-rates", 1 + len(committed)]]


def test_a_missing_image_is_found_by_the_browser_check(page, tmp_path):
  require_chromium()
  copy = tmp_path / "copy"
  shutil.copytree(page.parent, copy, ignore=shutil.ignore_patterns("cache"))
  (copy / "report" / "kodak_psnr.png").unlink()
  found = loaded(copy / "report.html", tmp_path)
  assert [src for src, width in found["images"] if width <= 0] == [
      "report/kodak_psnr.png"]


def test_crops_show_the_committed_file_size_and_quality(page):
  """Each crop is of the point nearest the target, with the bpp and PSNR
  its Kodak file had in the committed run."""
  rows = results_files.read_csv(RESULTS / "kodak_per_image.csv")
  text = page.read_text()
  for curve in CURVES:
    for target in crops.TARGETS:
      row = nearest_row(rows, curve, target)
      assert f"kodim23_{curve}_{row['point']}.png" in text
      assert f"{row['bpp']:.3f} bpp · {row['psnr_rgb']:.2f} dB" in text


def nearest_row(rows, curve, target):
  return min((r for r in rows if r["curve"] == curve and
              r["image"] == "kodim23.png"),
             key=lambda r: abs(np.log(r["bpp"] / target)))


def test_readme_shows_the_first_comparison_and_links_the_page(page):
  rows = results_files.read_csv(RESULTS / "kodak_per_image.csv")
  text = (page.parent / "README.md").read_text()
  block = text[text.index("<!-- report-crops:begin"):
               text.index("<!-- report-crops:end -->")]
  assert "(report.html#crops)" in block
  assert "![original kodim23.png](report/kodim23_original.png)" in block
  for curve, label in (("jpeg420", "JPEG 4:2:0"), ("webp", "WebP")):
    row = nearest_row(rows, curve, crops.TARGETS[0])
    assert (f"![{label} {row['bpp']:.3f} bpp, {row['psnr_rgb']:.2f} dB]"
            f"(report/kodim23_{curve}_{row['point']}.png)") in block


def test_page_bytes_count_the_html_and_every_image_it_shows(page):
  """Every PNG written (and no other) is on the page, and counted."""
  images = [path for path in page.parent.rglob("*.png")
            if "cache" not in path.parts]
  assert len(images) == 2 + 1 + 4 + 1
  assert report_cli.page_bytes(page.parent) == page.stat().st_size + sum(
      path.stat().st_size for path in images)


def test_committed_page_renders_in_chromium_within_its_budget(tmp_path):
  if not COMMITTED_PAGE.is_file():
    pytest.skip("benchmarks/results/report.html is not committed yet "
                "(python benchmarks/report.py makes it)")
  assert report_cli.page_bytes(RESULTS) <= BUDGET
  require_chromium()
  found = loaded(COMMITTED_PAGE, tmp_path)
  assert found["images"] and all(width > 0 for _, width in found["images"])
  assert found["tables"][0][0] == "bd-rates" and found["tables"][0][1] > 1


# Illustrations: whatever a registered model returns, nothing model-specific.

PAINTER = '''
import dataclasses
import numpy as np
from tfcsuite import coding, config, zoo

@dataclasses.dataclass
class Config(config.ModelConfig):
  pass

class Painter(coding.CodingModel):
  def __init__(self, config, weights=None):
    self.weights = weights

  def illustrations(self, image):
    return [("its red channel", np.repeat(image[..., :1], 3, axis=-1)),
            ("a grey patch", np.full((5, 7, 3), 128, np.uint8))]

SCRIPT = zoo.ModelScript(name="painter", description="test", model=Painter,
                         config=Config, default_checkpoint="unused")
'''


@pytest.fixture
def painter(tmp_path):
  script = tmp_path / "painter.py"
  script.write_text(PAINTER)
  folder = tmp_path / "painter_checkpoint"
  folder.mkdir()
  np.savez(folder / "weights.npz", unused=np.zeros(1))
  (folder / "manifest.json").write_text(
      json.dumps(dict(model="painter", config={})))
  zoo.register("painter", script)
  yield folder
  del zoo.MODEL_SCRIPTS["painter"]


def test_any_registered_models_illustrations_are_shown(painter, tmp_path,
                                                        kodak_dir):
  image = image_io.read_image(kodak_dir / "kodim23.png")
  (tmp_path / "report").mkdir()
  made = model_illustrations.illustrate(
      image, "kodim23", tmp_path, "report", models=["painter"],
      checkpoints={"painter": str(painter)})
  assert [m.caption for m in made] == ["its red channel", "a grey patch"]
  red = np.asarray(Image.open(tmp_path / made[0].file))
  assert made[0].size == (768, 512) and red.shape == (256, 384, 3)
  patch = np.asarray(Image.open(tmp_path / made[1].file))
  np.testing.assert_array_equal(patch, np.full((5, 7, 3), 128, np.uint8))
  section = report_page.illustrations_section("kodim23.png", made)
  assert "its red channel (768×512, shown at 384×256)" in section
  assert '<img src="report/kodim23_painter_illustration2.png"' in section


def test_a_malformed_illustration_names_the_model(painter, tmp_path):
  with pytest.raises(TypeError, match="painter.illustrations"):
    model_illustrations._checked("painter", ("float", np.zeros((4, 4, 3))))


# Training progress of the checkpoint campaign.


def test_progress_plot_is_drawn_from_the_campaign_file(tmp_path):
  entries = training_progress.read(PROGRESS)
  assert [(e["training_hours"], e["kodak_L"]) for e in entries] == [
      (0.76, 1.798), (1.76, 1.177)]
  training_progress.write_plot(entries, tmp_path / "progress.png")
  assert Image.open(tmp_path / "progress.png").size == (1000, 400)


def test_progress_file_without_a_field_is_refused(tmp_path):
  broken = tmp_path / "progress.json"
  broken.write_text(json.dumps([{"model": "balle17", "kodak_L": 1.2}]))
  with pytest.raises(UserError, match="lacks checkpoint, training_hours"):
    training_progress.read(broken)


def test_entries_of_one_training_run_form_one_curve():
  entries = [dict(model="balle18", checkpoint=str(h), training_hours=h,
                  kodak_L=2. / h, bd_rate_vs_jpeg420=None, curve=curve)
             for h, curve in ((2., "run b"), (1., "run b"), (1.5, "run a"))]
  entries.append(dict(model="balle17", checkpoint="x", training_hours=1.,
                      kodak_L=1.2, bd_rate_vs_jpeg420=-13.4))
  grouped = training_progress.curves(entries)
  assert list(grouped) == ["run b", "run a", "balle17"]
  assert [e["training_hours"] for e in grouped["run b"]] == [1., 2.]


def test_learning_curve_fit_recovers_a_power_law_and_inverts_it():
  hours = [0.25, 0.5, 1., 2., 3.]
  fit = training_progress.fit_learning_curve(
      hours, [1.1 + 0.6 * h ** -0.7 for h in hours])
  assert fit == pytest.approx((1.1, 0.6, 0.7), rel=1e-4)
  assert training_progress.hours_to_reach(fit, 1.1 + 0.6 * 8 ** -0.7) == (
      pytest.approx(8., rel=1e-3))
  assert training_progress.hours_to_reach(fit, 1.05) == float("inf")
  assert training_progress.fit_learning_curve(hours[:3], [3., 2., 1.5]) is None


def test_an_entry_without_kodak_L_is_drawn_only_as_a_bd_rate(tmp_path):
  entries = [dict(model="balle18", checkpoint=str(h), training_hours=h,
                  kodak_L=2. / h, bd_rate_vs_jpeg420=None, curve="run")
             for h in (1., 2., 3., 4.)]
  entries.append(dict(model="balle18", checkpoint="set", training_hours=4.5,
                      set_training_hours=5., kodak_L=None,
                      bd_rate_vs_jpeg420=-20., curve="run"))
  assert training_progress.loss_points(entries) == (
      [1., 2., 3., 4.], [2., 1., 2. / 3., 0.5])
  training_progress.write_plot(entries, tmp_path / "progress.png")
  assert Image.open(tmp_path / "progress.png").size == (1000, 400)
