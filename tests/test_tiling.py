"""Tiled evaluation of the transforms (issue 19): large images in bounded
memory, with the result of untiled coding.

Every registered model is checked on a crop coded untiled and with tiles
small enough to split it; a model whose transforms cannot be tiled simply
codes untiled both times. The peak memory on a 24-megapixel image is
measured by benchmarks/peak_memory.py, not here.
"""

import os

import numpy as np
import pytest
import tensorflow as tf

from conftest import default_coding_model
from tfcsuite import coding, container, metrics, tiling, zoo

KODAK = os.environ.get("TFCS_KODAK_DIR", os.path.join(
    os.path.dirname(__file__), "..", "..", "shared", "data", "kodak"))


@pytest.fixture(scope="module")
def crop():
  from tfcsuite import image_io
  # Sides that are not multiples of any model's stride.
  return image_io.read_image(os.path.join(KODAK, "kodim23.png"))[:120, :170]


@pytest.fixture
def tile_size():
  """Sets the tile size for one test, restoring the default after it."""
  yield tiling.set_tile_size
  tiling.set_tile_size(tiling.limits.DEFAULT_TILE_SIZE)


def _round_trip(model, checkpoint, image):
  packed = container.pack(coding.encode(model, checkpoint, image))
  decoded = coding.decode(model, container.unpack(packed))
  return len(packed), metrics.all_metrics(model.reference_image(image),
                                          decoded)["psnr"]


@pytest.mark.parametrize("name", sorted(zoo.MODEL_SCRIPTS))
def test_tiled_coding_is_within_0_05_db_of_untiled(name, crop, coding_models,
                                                   tile_size):
  checkpoint, model = default_coding_model(coding_models, name)
  tile_size(None)
  size, psnr = _round_trip(model, checkpoint, crop)
  tile_size(48)
  tiled_size, tiled_psnr = _round_trip(model, checkpoint, crop)
  assert abs(tiled_psnr - psnr) <= 0.05
  assert abs(tiled_size - size) <= 0.01 * size


def test_balle17_synthesis_is_tiled_and_matches_untiled(coding_models,
                                                        tile_size, crop):
  _, model = default_coding_model(coding_models, "balle17")
  y = model.analysis_transform(crop[None].astype(np.float32))
  untiled = np.asarray(model.synthesis_transform(y))
  tile_size(48)  # 3x3 latents per tile: 3x4 tiles.
  tiled = model.synthesis_transform(y)
  assert isinstance(tiled, np.ndarray)  # The tiled path ran.
  np.testing.assert_allclose(tiled, untiled, atol=0.01)


def test_geometry_of_balle17_analysis():
  """Stride 16, tiles aligned to it, a margin covering the receptive field
  (9x9/4, 5x5/2, 5x5/2: radius 4 + 2*4 + 2*8 = 28 pixels)."""
  script = zoo.load_script("balle17")
  model = script.training_model(script.config())
  geometry = model.analysis_transform.geometry
  assert geometry.scale == tiling.fractions.Fraction(1, 16)
  assert geometry.unit == 16
  assert geometry.margin % 16 == 0 and geometry.margin >= 28


def test_small_images_are_not_tiled():
  """Kodak-size results stay bit-identical to untiled coding."""
  script = zoo.load_script("balle17")
  model = script.training_model(script.config())
  assert not tiling.should_tile(model.synthesis_transform.geometry,
                                (1, 512 // 16, 768 // 16, 128))
  assert tiling.should_tile(model.synthesis_transform.geometry,
                            (1, 4000 // 16, 6000 // 16, 128))


def test_balle18_scale_indexes_are_identical_in_tiles(coding_models, crop,
                                                       tile_size, monkeypatch):
  """The exact integer hyper-synthesis gives the same indexes in tiles."""
  from tfcsuite import layers
  _, model = default_coding_model(coding_models, "balle18")
  y = model.analysis_transform(crop[None].astype(np.float32))
  z_hat = model.hyper_entropy_model.quantize(model.hyper_analysis_transform(y))
  tile_size(None)
  untiled = np.asarray(model.scale_indexes(z_hat, y.shape[1:3]))
  tile_size(512)
  monkeypatch.setattr(layers, "INTEGER_TILE_SIZE", 4)  # 1 hyper-latent.
  tiled = model.scale_indexes(z_hat, y.shape[1:3])
  assert isinstance(tiled, np.ndarray)  # The tiled path ran.
  np.testing.assert_array_equal(tiled, untiled)


def test_explicit_padding_and_valid_convolutions_count_as_same_ones():
  """vaegan's form: zero-pad (1, 2) + valid 5x5/2; valid 3x3 + zero-pad 1."""
  conv, pad = tf.keras.layers.Conv2D, tf.keras.layers.ZeroPadding2D
  same = tiling.Geometry.of([conv(4, 5, strides=2, padding="same"),
                             conv(4, 3, padding="same")])
  explicit = tiling.Geometry.of([pad(((1, 2), (1, 2))), conv(4, 5, strides=2),
                                 conv(4, 3), pad(1)])
  assert explicit == same and explicit.aligned


@pytest.mark.parametrize("layers", [
    lambda conv, pad: [pad(2), conv(4, 3)],
    lambda conv, pad: [conv(4, 3), conv(4, 3, strides=2, padding="same"),
                       pad(1)],
    lambda conv, pad: [pad(1), conv(4, 5, strides=2)]], ids=[
        "one pixel more than same", "the stride sees a shifted grid",
        "(1, 1) where same pads (1, 2)"])
def test_padding_that_same_padding_would_not_add_is_untileable(layers):
  conv, pad = tf.keras.layers.Conv2D, tf.keras.layers.ZeroPadding2D
  assert tiling.Geometry.of(layers(conv, pad)) is None


def test_keras_strided_convolutions_tile_only_whole_units():
  """Keras's "same" stride-2 samples by the parity of the size: an odd side
  would put a tile's samples one pixel off the whole image's."""
  geometry = tiling.Geometry.of([tf.keras.layers.Conv2D(4, 3, strides=2,
                                                        padding="same")])
  assert tiling.should_tile(geometry, (1, 2048, 2048, 3))
  assert not tiling.should_tile(geometry, (1, 2048, 2047, 3))
