"""Specification of image reading rules and atomic, non-clobbering writes."""

import os

import numpy as np
import pytest
from PIL import Image

from tfcsuite import UserError, image_io

KODAK = os.environ.get("TFCS_KODAK_DIR", os.path.join(
    os.path.dirname(__file__), "..", "..", "shared", "data", "kodak"))


@pytest.fixture(scope="module")
def kodim23():
  with Image.open(os.path.join(KODAK, "kodim23.png")) as image:
    return np.asarray(image.convert("RGB"))


def test_reads_kodak_png_as_uint8_rgb(kodim23):
  array = image_io.read_image(os.path.join(KODAK, "kodim23.png"))
  assert array.dtype == np.uint8 and array.shape == (512, 768, 3)
  np.testing.assert_array_equal(array, kodim23)


def test_grayscale_is_replicated_to_rgb(tmp_path, kodim23):
  gray = kodim23[..., 1]
  Image.fromarray(gray).save(tmp_path / "gray.png")
  array = image_io.read_image(tmp_path / "gray.png")
  for channel in range(3):
    np.testing.assert_array_equal(array[..., channel], gray)


def test_rgba_is_composited_on_white(tmp_path):
  rgba = np.zeros((4, 4, 4), np.uint8)
  rgba[..., 0] = 200          # Red, ...
  rgba[:2, ..., 3] = 255      # ... opaque in the top half,
  rgba[2:, ..., 3] = 0        # ... transparent in the bottom half.
  Image.fromarray(rgba, "RGBA").save(tmp_path / "alpha.png")
  array = image_io.read_image(tmp_path / "alpha.png")
  np.testing.assert_array_equal(array[0, 0], [200, 0, 0])
  np.testing.assert_array_equal(array[3, 3], [255, 255, 255])


def test_palette_image_becomes_its_colours(tmp_path, kodim23):
  crop = kodim23[:64, :64]
  Image.fromarray(crop).quantize(16).save(tmp_path / "palette.png")
  with Image.open(tmp_path / "palette.png") as image:
    expected = np.asarray(image.convert("RGB"))
  np.testing.assert_array_equal(
      image_io.read_image(tmp_path / "palette.png"), expected)


def test_16_bit_grayscale_is_rounded_to_8_bits(tmp_path):
  values = np.array([[0, 257, 65535, 32896]], np.uint16)
  Image.fromarray(values).save(tmp_path / "deep.png")
  array = image_io.read_image(tmp_path / "deep.png")
  np.testing.assert_array_equal(array[0, :, 0], [0, 1, 255, 128])


def test_exif_orientation_is_applied(tmp_path, kodim23):
  exif = Image.Exif()
  exif[0x0112] = 6  # "Rotate 90 CW to display".
  Image.fromarray(kodim23).save(tmp_path / "rotated.jpg", exif=exif,
                                quality=95)
  array = image_io.read_image(tmp_path / "rotated.jpg")
  assert array.shape == (768, 512, 3)


def test_non_image_is_a_user_error(tmp_path):
  (tmp_path / "notes.png").write_text("not an image")
  with pytest.raises(UserError, match="not an image Pillow can read"):
    image_io.read_image(tmp_path / "notes.png")


def test_missing_file_is_a_user_error(tmp_path):
  with pytest.raises(UserError, match="does not exist"):
    image_io.read_image(tmp_path / "absent.png")


def test_existing_output_is_not_overwritten(tmp_path):
  target = tmp_path / "out.bin"
  target.write_bytes(b"keep me")
  with pytest.raises(UserError, match="--overwrite"):
    image_io.write_bytes(str(target), b"new")
  assert target.read_bytes() == b"keep me"


def test_overwrite_replaces_and_leaves_no_temp_file(tmp_path):
  target = tmp_path / "out.bin"
  target.write_bytes(b"old")
  image_io.write_bytes(str(target), b"new", overwrite=True)
  assert target.read_bytes() == b"new"
  assert os.listdir(tmp_path) == ["out.bin"]


def test_write_image_uses_the_extension(tmp_path, kodim23):
  image_io.write_image(str(tmp_path / "x.webp"), kodim23[:32, :32])
  with Image.open(tmp_path / "x.webp") as image:
    assert image.format == "WEBP"


def test_unknown_output_extension_is_a_user_error(tmp_path, kodim23):
  with pytest.raises(UserError, match="extension"):
    image_io.write_image(str(tmp_path / "x.unknown"), kodim23[:8, :8])
