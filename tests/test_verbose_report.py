"""What `compress -V` prints: no `nan` for small images, and what a model
declares about its file (Jiang 2017: the JPEG quality; grayscale: the luma
the metrics are computed on)."""

import math

import pytest

from conftest import REPO_ROOT

from tfcsuite import cli, container, image_io, metrics, zoo

JIANG17 = REPO_ROOT / "checkpoints" / "jiang17"


def compress_verbose(model, source, target, *flags):
  """stdout of `<model>.py compress source target -V` run in this process."""
  script = zoo.load_script(model)
  args = cli.parse_args(script, [f"{model}.py", "compress", str(source),
                                 str(target), "-V", *map(str, flags)])
  cli._run(script, args)  # pylint: disable=protected-access


@pytest.fixture
def crop(tmp_path, kodak_dir):
  """kodim23's top-left 64x96 pixels, as a PNG file."""
  path = tmp_path / "crop.png"
  image_io.write_image(
      str(path), image_io.read_image(str(kodak_dir / "kodim23.png"))[:64, :96])
  return path


def test_ms_ssim_is_defined_from_161_pixels_a_side(kodak_dir):
  image = image_io.read_image(str(kodak_dir / "kodim23.png"))
  noisy = (image ^ 1)  # Every value off by one.
  assert metrics.MS_SSIM_MIN_SIDE == 161
  assert 0.99 < metrics.ms_ssim(image[:161, :161], noisy[:161, :161]) < 1.
  assert math.isnan(metrics.ms_ssim(image[:160, :400], noisy[:160, :400]))


def test_small_image_reports_ms_ssim_as_not_available(crop, tmp_path,
                                                      capsys):
  compress_verbose("balle17", crop, tmp_path / "c.tfci")
  lines = capsys.readouterr().out.splitlines()
  assert ("Multiscale SSIM: n/a (its 5 scales need at least 161x161 pixels; "
          "the image is 96x64)") in lines
  assert "Multiscale SSIM (dB): n/a" in lines
  assert "nan" not in "\n".join(lines)
  assert not any(line.startswith("Coded:") or line.startswith("Metrics "
                                                              "against:")
                 for line in lines)  # balle17 declares neither.


def test_jiang17_states_the_jpeg_quality_it_coded_with(crop, tmp_path,
                                                       capsys):
  compress_verbose("jiang17", crop, tmp_path / "c.tfci", "--quality", 20)
  jpeg = container.unpack((tmp_path / "c.tfci").read_bytes()).strings[0]
  assert (f"Coded: JPEG at quality 20 (4:2:0) of the 48x32 compact image, "
          f"{len(jpeg)} bytes") in capsys.readouterr().out.splitlines()


def test_jiang17_grayscale_metrics_are_on_the_luma(crop, tmp_path, capsys):
  compress_verbose("jiang17", crop, tmp_path / "c.tfci", "--quality", 5,
                   "--model_path", JIANG17 / "gray")
  lines = capsys.readouterr().out.splitlines()
  assert lines[:2] == [
      "Coded: JPEG at quality 5 (grayscale) of the 48x32 compact image, "
      f"{len(container.unpack((tmp_path / 'c.tfci').read_bytes()).strings[0])}"
      " bytes",
      "Metrics against: the BT.601 luma of the image, rounded to 8 bits (this "
      "grayscale model codes the luma only)"]
  # The PSNR printed is the decoded file's against the rounded luma.
  script = zoo.load_script("jiang17")
  args = cli.parse_args(script, ["jiang17.py", "decompress",
                                 str(tmp_path / "c.tfci"),
                                 str(tmp_path / "d.png"), "--model_path",
                                 str(JIANG17 / "gray")])
  cli._run(script, args)  # pylint: disable=protected-access
  with_luma = image_io.read_image(str(crop)).astype(float) @ (
      metrics.BT601_LUMA)
  decoded = image_io.read_image(str(tmp_path / "d.png"))[..., 0]
  psnr = metrics.psnr(with_luma.round(), decoded)
  assert f"PSNR (dB): {psnr:0.2f}" in lines
