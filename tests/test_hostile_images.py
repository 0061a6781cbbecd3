"""What compress does with hostile and unusual images (issue 19).

Reading rules are model-independent (tfcsuite/image_io.py; gray, palette,
RGBA, 16-bit and EXIF-rotated images are specified in test_image_io.py);
image sizes are checked for every registered model.
"""

import io
import struct
import time
import zlib

import numpy as np
import pytest
from PIL import Image

from conftest import default_coding_model
from tfcsuite import UserError, coding, container, image_io, zoo


def _png_declaring(width, height):
  """A tiny PNG whose header declares width x height (a decompression bomb:
  its pixel data, if any, would be a few bytes of zlib)."""
  def chunk(kind, data):
    return (struct.pack(">I", len(data)) + kind + data +
            struct.pack(">I", zlib.crc32(kind + data)))
  header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
  return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) +
          chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b""))


@pytest.fixture
def jpeg_bytes():
  buffer = io.BytesIO()
  Image.new("RGB", (64, 48), (200, 30, 90)).save(buffer, "JPEG")
  return buffer.getvalue()


@pytest.mark.parametrize("content", [b"", b"GIF89a", b"not an image\n" * 9])
def test_empty_or_non_image_file_is_one_line(tmp_path, content):
  path = tmp_path / "input.png"
  path.write_bytes(content)
  with pytest.raises(UserError) as error:
    image_io.read_image(path)
  assert "\n" not in str(error.value)


@pytest.mark.parametrize("keep", [0.3, 0.7])
def test_truncated_png_and_jpeg_are_one_line(tmp_path, jpeg_bytes, keep):
  buffer = io.BytesIO()
  Image.fromarray(np.random.default_rng(0).integers(
      0, 255, (48, 64, 3), np.uint8)).save(buffer, "PNG")
  for name, data in (("a.png", buffer.getvalue()), ("a.jpg", jpeg_bytes)):
    (tmp_path / name).write_bytes(data[:int(len(data) * keep)])
    with pytest.raises(UserError, match="cannot decode image"):
      image_io.read_image(tmp_path / name)


def test_cmyk_jpeg_becomes_rgb(tmp_path):
  Image.new("CMYK", (40, 30), (0, 255, 255, 0)).save(tmp_path / "c.jpg")
  array = image_io.read_image(tmp_path / "c.jpg")
  assert array.shape == (30, 40, 3)
  assert array[..., 0].mean() > 200 and array[..., 1:].mean() < 40  # Red.


def test_decompression_bomb_is_refused_from_its_header(tmp_path):
  path = tmp_path / "bomb.png"
  path.write_bytes(_png_declaring(100_000, 100_000))
  start = time.perf_counter()
  with pytest.raises(UserError, match=r"100000x100000 .* more than the limit "
                                      r"of 89,478,485 \(--max_pixels\)"):
    image_io.read_image(path)
  assert time.perf_counter() - start < 1  # Nothing was decoded.


def test_pixel_limit_can_be_raised(tmp_path):
  Image.new("RGB", (30, 20)).save(tmp_path / "small.png")
  with pytest.raises(UserError, match="--max_pixels"):
    image_io.read_image(tmp_path / "small.png", max_pixels=599)
  assert image_io.read_image(tmp_path / "small.png",
                             max_pixels=600).shape == (20, 30, 3)


# 1x1, strips, and sides that are multiples of no model's stride.
SIZES = [(1, 1), (1, 37), (29, 1), (17, 33)]


@pytest.mark.parametrize("name", sorted(zoo.MODEL_SCRIPTS))
def test_tiny_strip_and_odd_sizes_are_coded_or_refused_in_one_line(
    name, coding_models):
  checkpoint, model = default_coding_model(coding_models, name)
  rng = np.random.default_rng(1)
  for height, width in SIZES:
    image = rng.integers(0, 256, (height, width, 3), np.uint8)
    try:
      packed = container.pack(coding.encode(model, checkpoint, image))
    except UserError as error:
      assert "\n" not in str(error)
      continue
    decoded = coding.decode(model, container.unpack(packed))
    assert decoded.shape[:2] == (height, width) and decoded.dtype == np.uint8
