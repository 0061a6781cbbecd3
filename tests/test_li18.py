"""Specification of models/li18.py: importance map, mask, real coding."""

import dataclasses

import numpy as np
import pytest
import tensorflow as tf

from tfcsuite import checkpoint, cli, coding, container, image_io, metrics, zoo

SCRIPT = zoo.load_script("li18")
TINY = dict(filters=8, code_channels=16, levels=4)


def in_memory_checkpoint(**settings):
  """A checkpoint of freshly initialized networks and models (seeded)."""
  tf.keras.utils.set_random_seed(1)
  config = SCRIPT.config(**settings)
  model = SCRIPT.training_model(config)
  manifest = dict(model="li18", config=dataclasses.asdict(config))
  return checkpoint.Checkpoint("untrained", manifest, model.export_weights(),
                               fingerprint=0)


@pytest.fixture(scope="module")
def kodim23(kodak_dir):
  return image_io.read_image(str(kodak_dir / "kodim23.png"))


@pytest.fixture(scope="module")
def tiny():
  ckpt = in_memory_checkpoint(**TINY)
  return ckpt, SCRIPT.coding_model(ckpt)


def test_each_level_keeps_n_over_l_more_channels():
  module = SCRIPT.model.__module__
  li18 = __import__(module)
  config = SCRIPT.config(code_channels=16, levels=4)
  levels = tf.constant([0., 1., 3.])
  assert li18.kept_channels(levels, config).numpy().tolist() == [4, 8, 16]
  mask = li18.channel_mask(li18.kept_channels(levels, config), 16).numpy()
  assert mask.sum(axis=-1).tolist() == [4, 8, 16]
  assert (mask[1, :8] == 1).all() and (mask[1, 8:] == 0).all()


def test_mask_gradient_is_the_papers_proxy():
  model = SCRIPT.training_model(SCRIPT.config(code_channels=16, levels=4))
  p = tf.constant([.3])  # L p = 1.2: level 1, 8 channels kept.
  with tf.GradientTape() as tape:
    tape.watch(p)
    mask = model.mask(p)
  np.testing.assert_array_equal(mask.numpy()[0], [1] * 8 + [0] * 8)
  # Channel k switches at level floor(k L / n); its mask has gradient L
  # while L p is within 1 of that level: levels 1 and 2 here (8 channels).
  gradient = tape.gradient(mask, p)
  assert float(gradient[0]) == pytest.approx(4 * 8)


def test_bit_contexts_depend_only_on_the_two_previous_channels():
  li18 = __import__(SCRIPT.model.__module__)
  rng = np.random.default_rng(1)
  bits = tf.constant(rng.integers(0, 2, (1, 6, 7, 8)), tf.float32)
  mask = tf.ones_like(bits)
  contexts = li18.bit_contexts(bits, mask).numpy()
  changed = bits.numpy().copy()
  changed[..., 5] = 1 - changed[..., 5]
  after = li18.bit_contexts(tf.constant(changed), mask).numpy()
  unchanged = [k for k in range(8) if k not in (6, 7)]
  np.testing.assert_array_equal(after[..., unchanged],
                                contexts[..., unchanged])
  assert (after[..., 6] != contexts[..., 6]).any()
  assert contexts.min() >= 0 and contexts.max() < 8 * li18.BIT_CONTEXTS


def test_first_pass_levels_are_a_checkerboard_under_one_distribution():
  li18 = __import__(SCRIPT.model.__module__)
  levels = tf.constant([[3, 0, 3], [0, 1, 0]])[None]
  rows = li18.level_contexts(levels)[0].numpy()
  # Anchors (i + j even) use row 0; (0, 1) has anchor neighbours 3, 3, 1.
  assert rows[0, 0] == rows[0, 2] == rows[1, 1] == 0
  assert rows[0, 1] == 1 + 2 and rows[1, 0] == 1 + 2 and rows[1, 2] == 1 + 2


@pytest.mark.parametrize("bit_contexts", ["neighbours", "order0"])
def test_file_decodes_to_the_decoder_output_of_the_kept_code(
    tiny, kodim23, bit_contexts):
  ckpt, model = tiny
  crop = kodim23[:61, :83]
  packed = container.pack(coding.encode(model, ckpt, crop,
                                        bit_contexts=bit_contexts))
  decoded = coding.decode(model, container.unpack(packed, "li18"))
  bits, levels = model._code(crop)  # pylint: disable=protected-access
  mask = model._mask(levels)  # pylint: disable=protected-access
  code = tf.cast((2 * bits - 1) * mask, tf.float32)[None]
  expected = coding.reconstructed_image(
      model.decoder(code) * 127.5 + 127.5, (61, 83))
  np.testing.assert_array_equal(decoded, expected)


def test_payload_spends_what_the_entropy_models_say(tiny, kodim23):
  ckpt, model = tiny
  crop = kodim23[:128, :128]
  payload = coding.encode(model, ckpt, crop).payload_bytes()
  # 12-bit tables and each string's final bytes: within 1% + 16 bytes.
  assert payload * 8 == pytest.approx(model.estimate_bits(crop), rel=.01,
                                      abs=128)


@pytest.mark.parametrize("field", ["levels", "bits"])
@pytest.mark.parametrize("keep", [0, 3, 40])
def test_truncated_strings_decode_to_an_image_or_a_container_error(
    tiny, kodim23, field, keep):
  ckpt, model = tiny
  parsed = coding.encode(model, ckpt, kodim23[:64, :64])
  strings = list(parsed.strings)
  index = model.layout.strings.index(field)
  strings[index] = strings[index][:keep]
  try:
    decoded = coding.decode(model, dataclasses.replace(parsed,
                                                       strings=strings))
  except coding.ContainerError:
    return
  assert decoded.shape == (64, 64, 3)


def test_illustrations_show_the_importance_map_at_the_image_size(tiny,
                                                                 kodim23):
  _, model = tiny
  crop = kodim23[:61, :83]
  pictures = model.illustrations(crop)
  assert [caption for caption, _ in pictures] == [
      "importance map", "importance map over the image"]
  for _, picture in pictures:
    assert picture.shape == (61, 83, 3) and picture.dtype == np.uint8
  gray = pictures[0][1]
  np.testing.assert_array_equal(gray[..., 0], gray[..., 2])
  _, levels = model._code(crop)  # pylint: disable=protected-access
  # One gray value per 8x8 block: the block's level scaled to 0..255.
  assert gray[8, 16, 0] == round(int(levels[1, 2]) * 255 / 3)


# The shipped default checkpoint.


@pytest.fixture(scope="module")
def shipped():
  ckpt = checkpoint.load(SCRIPT.default_checkpoint_path(), "li18")
  return ckpt, SCRIPT.coding_model(ckpt)


def _psnr_and_bpp(model, ckpt, image):
  packed = container.pack(coding.encode(model, ckpt, image))
  decoded = coding.decode(model, container.unpack(packed, "li18"))
  return (metrics.psnr(image, decoded),
          8 * len(packed) / (image.shape[0] * image.shape[1]))


def test_shipped_default_beats_untrained_network_and_flat_image(shipped,
                                                                kodim23):
  ckpt, model = shipped
  crop = kodim23[128:384, 256:512]
  psnr, bpp = _psnr_and_bpp(model, ckpt, crop)
  untrained = in_memory_checkpoint(**ckpt.config)
  untrained_psnr, _ = _psnr_and_bpp(SCRIPT.coding_model(untrained),
                                    untrained, crop)
  flat = np.broadcast_to(np.round(crop.mean(axis=(0, 1))).astype(np.uint8),
                         crop.shape)
  assert bpp < .6
  assert psnr > untrained_psnr + 5 and psnr > metrics.psnr(crop, flat) + 5


def test_shipped_importance_map_follows_the_content(shipped, kodim23):
  _, model = shipped
  _, levels = model._code(kodim23)  # pylint: disable=protected-access
  levels = levels.numpy()
  # Blocks of more local detail get more levels than flat ones.
  gray = kodim23.astype(float).mean(axis=2)
  detail = np.abs(np.diff(gray, axis=1))[:, :760].reshape(
      64, 8, 95, 8).mean(axis=(1, 3))
  levels = levels[:, :95]
  busy = detail > np.quantile(detail, .75)
  calm = detail < np.quantile(detail, .25)
  # Measured: 4.38 against 4.21 levels (weakly content-dependent).
  assert levels[busy].mean() > levels[calm].mean() + .1
  assert len(np.unique(levels)) >= 4


@pytest.mark.parametrize("damage", ["truncated", "flipped"])
def test_decompress_refuses_a_damaged_file_in_one_line(shipped, kodim23,
                                                       tmp_path, capsys,
                                                       damage):
  ckpt, model = shipped
  data = bytearray(container.pack(coding.encode(model, ckpt,
                                                kodim23[:64, :64])))
  if damage == "truncated":
    del data[-7:]
  else:
    data[len(data) // 2] ^= 0x10
  compressed = tmp_path / "crop.tfci"
  compressed.write_bytes(bytes(data))
  output = tmp_path / "out.png"
  with pytest.raises(SystemExit) as exit_status:
    cli._run(SCRIPT, cli.parse_args(  # pylint: disable=protected-access
        SCRIPT, ["li18.py", "decompress", str(compressed), str(output)]))
  assert exit_status.value.code == 1
  assert len(capsys.readouterr().err.strip().splitlines()) == 1
  assert not output.exists()
