"""Specification of models/npeg.py: the seed's network, made a real codec."""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

import conftest
from tfcsuite import checkpoint, coding, container, image_io, metrics, zoo

SCRIPT = zoo.load_script("npeg")
EXTENDED = dict(downsampling=3, code_channels=64)


def in_memory_checkpoint(name="untrained", **settings):
  return conftest.in_memory_checkpoint("npeg", name, **settings)


@pytest.fixture(scope="module")
def crop(kodak_dir):
  return image_io.read_image(str(kodak_dir / "kodim23.png"))[:64, :96]


def test_faithful_code_has_128_bits_per_pixel(crop):
  model = SCRIPT.coding_model(in_memory_checkpoint())
  assert model._binary_code(crop).shape == (64, 96, 128)  # pylint: disable=protected-access


def test_extension_codes_one_bit_per_pixel_at_an_eighth_of_the_size(crop):
  model = SCRIPT.coding_model(in_memory_checkpoint(**EXTENDED))
  code = model._binary_code(crop)  # pylint: disable=protected-access
  assert code.shape == (8, 12, 64)
  assert code.shape.num_elements() / (64 * 96) == 1.


@pytest.mark.parametrize("settings", [{}, EXTENDED])
def test_file_decodes_to_the_decoder_output_of_the_encoders_code(crop,
                                                                settings):
  ckpt = in_memory_checkpoint(**settings)
  model = SCRIPT.coding_model(ckpt)
  packed = container.pack(coding.encode(model, ckpt, crop))
  decoded = coding.decode(model, container.unpack(packed, "npeg"))
  code = tf.cast(model._binary_code(crop), tf.float32)[None]  # pylint: disable=protected-access
  expected = coding.reconstructed_image(model.decoder(code) * 255., (64, 96))
  np.testing.assert_array_equal(decoded, expected)


@pytest.mark.parametrize("settings", [{}, EXTENDED])
def test_payload_spends_what_the_bit_model_says(crop, settings):
  ckpt = in_memory_checkpoint(**settings)
  model = SCRIPT.coding_model(ckpt)
  payload = coding.encode(model, ckpt, crop).payload_bytes()
  # 12-bit coding tables and the coder's final bytes: within 1% + 8 bytes.
  assert payload * 8 == pytest.approx(model.estimate_bits(crop), rel=0.01,
                                      abs=64)


def test_any_image_size_keeps_its_size(kodak_dir):
  image = image_io.read_image(str(kodak_dir / "kodim23.png"))[:37, :53]
  ckpt = in_memory_checkpoint(**EXTENDED)
  model = SCRIPT.coding_model(ckpt)
  decoded = coding.decode(model, coding.encode(model, ckpt, image))
  assert decoded.shape == (37, 53, 3)


def test_code_noise_ramps_linearly_from_a_tenth():
  model = SCRIPT.training_model(SCRIPT.config(code_noise=15.,
                                              code_noise_ramp_steps=100))
  model.prepare_training(1e-3)
  assert float(model.code_noise()) == pytest.approx(.1)
  model.optimizer.iterations.assign(50)
  assert float(model.code_noise()) == pytest.approx(7.55)
  model.optimizer.iterations.assign(1000)
  assert float(model.code_noise()) == pytest.approx(15.)


def test_mutated_payload_is_refused_or_decodes_to_the_right_shape(crop):
  ckpt = in_memory_checkpoint(**EXTENDED)
  model = SCRIPT.coding_model(ckpt)
  coded = coding.encode(model, ckpt, crop)
  rng = np.random.default_rng(0)
  for _ in range(20):
    payload = bytearray(coded.strings[0])
    payload[rng.integers(len(payload))] ^= 1 << rng.integers(8)
    mutated = dataclasses.replace(coded, strings=[bytes(payload)])
    # Repacked, so the container's CRC is valid: the range decoder sees it.
    parsed = container.unpack(container.pack(mutated), "npeg")
    try:
      assert coding.decode(model, parsed).shape == crop.shape
    except container.ContainerError:
      pass


def test_code_shape_that_does_not_fit_the_image_is_refused(crop):
  ckpt = in_memory_checkpoint(**EXTENDED)
  model = SCRIPT.coding_model(ckpt)
  coded = dataclasses.replace(coding.encode(model, ckpt, crop),
                              integers=[9, 12])
  with pytest.raises(container.ContainerError, match="code shape"):
    coding.decode(model, coded)


@pytest.mark.parametrize("name, settings, margin", [
    # Measured on kodim23: 22.47 dB shipped, 12.07 untrained, 13.48 flat.
    ("extended", EXTENDED, 8.),
    # Measured on kodim23: 28.75 dB (13.71 bpp) shipped, 10.59 untrained,
    # 13.48 flat.
    ("faithful", {}, 8.)])
def test_shipped_checkpoint_beats_its_trivial_baselines(kodak_dir, name,
                                                        settings, margin):
  """Against the untrained network coded alike, and a flat mean image."""
  image = image_io.read_image(str(kodak_dir / "kodim23.png"))
  shipped = checkpoint.load(zoo.shipped_folder("npeg", name), "npeg")
  untrained = in_memory_checkpoint(**settings)
  psnr = {}
  for ckpt in (shipped, untrained):
    model = SCRIPT.coding_model(ckpt)
    psnr[ckpt.name] = metrics.psnr(
        image, coding.decode(model, coding.encode(model, ckpt, image)))
  flat = np.broadcast_to(np.round(image.reshape(-1, 3).mean(0)),
                         image.shape).astype(np.uint8)
  assert psnr[name] > psnr["untrained"] + margin
  assert psnr[name] > metrics.psnr(image, flat) + margin
